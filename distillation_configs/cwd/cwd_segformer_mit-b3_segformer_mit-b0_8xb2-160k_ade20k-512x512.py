# CWD, channel-wise distillation (Shu et al., ICCV 2021), SegFormer-B3 ->
# SegFormer-B0 on ADE20K 512x512, as SegDistill's "CD" (table 5): CWD's
# loss, tau 1, loss_weight 1, on the logits (decode_head.conv_seg, 1/4
# resolution) resized bilinearly to the label size, computed by CGDLoss with
# group_size 1 (one class per group), SegDistill's implementation of CD:
# ../_base_/distill/cwd_segdistill.py (with other CWD settings for
# SegFormer).
# Protocol: the student's own mmseg recipe, as
# ../cgd/cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py.
# Published (SegDistill README table 5, ADE20K val mIoU / mAcc; teacher
# SegFormer-B3 50.0): SegFormer-B0 38.0 / 48.76 -> 39.66 / 49.96 (CD).
# Teacher: mmseg's model-zoo SegFormer-B3 (160k; 47.82 val),
# segformer_mit-b3_512x512_160k_ade20k_20210726_081410-962b98d2.pth,
# downloaded from download.openmmlab.com.
#   tools/dist_train.sh distillation_configs/cwd/cwd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py 8
_base_ = [
    '../_base_/models/distill_segformer_mit-b3_segformer_mit-b0_ade20k.py',
    '../_base_/distill/cwd_segdistill.py', 'mmseg::_base_/datasets/ade20k.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
train_dataloader = dict(batch_size=2)
model = dict(distill=_base_.distill)
