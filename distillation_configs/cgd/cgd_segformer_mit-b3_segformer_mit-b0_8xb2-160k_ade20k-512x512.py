# CGD, channel group distillation (wzpscott/SegDistill, table 5),
# SegFormer-B3 -> SegFormer-B0 on ADE20K 512x512, with the reference CGDLoss
# defaults (../_base_/distill/cgd.py): logits (decode_head.conv_seg, 1/4
# resolution, 150 classes) of both networks resized bilinearly to the label
# size (resize_to='labels': 2 x 150 x 512 x 512 floats per network and
# GPU), channels in groups of 10 consecutive classes (150 = 15 groups, no
# padding), one distribution per (image, group) over its 10x512x512
# entries, tau 2 (no tau^2 factor),
# loss_weight 3, the same random channel permutation on both sides every
# 1000th iteration.
# Protocol: the student's own mmseg recipe (SegDistill's too): 160k
# iterations, AdamW lr 6e-5, wd 0.01, head lr x10, 1500-iteration warm-up,
# poly 1.0; batch 16 = 8 GPUs x 2 (SegDistill's GPU count is UNVERIFIED).
# Published (SegDistill README table 5, ADE20K val mIoU / mAcc; teacher
# SegFormer-B3 50.0): SegFormer-B0 38.0 / 48.76 -> 40.39 / 50.53 (CGD+WS:
# 41.27 / 52.78, ./cgd-ws_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py).
# Teacher: mmseg's model-zoo SegFormer-B3 (160k; 47.82 val),
# segformer_mit-b3_512x512_160k_ade20k_20210726_081410-962b98d2.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_segformer_mit-b3_segformer_mit-b0_ade20k.py);
# student encoder from mmseg's MiT-B0 ImageNet weights (mit_b0_20220624-
# 7e0fe6dd.pth, fetched by init_weights as in mmseg's own config).
# Differences: mmseg's teacher (47.82 vs 50.0); the teacher runs in eval
# mode (SegDistill's likely ran with train-mode BN and dropout, unverified).
#   tools/dist_train.sh distillation_configs/cgd/cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py 8
_base_ = [
    '../_base_/models/distill_segformer_mit-b3_segformer_mit-b0_ade20k.py',
    '../_base_/distill/cgd.py', 'mmseg::_base_/datasets/ade20k.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
train_dataloader = dict(batch_size=2)
model = dict(distill=_base_.distill)
