# CWD, channel-wise distillation (Shu et al., ICCV 2021), SegFormer-B3 ->
# SegFormer-B0 on ADE20K 512x512, as SegDistill's "CD" (table 5): one
# spatial distribution per (image, class channel) of the logits
# (decode_head.conv_seg, 1/4 resolution) resized bilinearly to the label
# size, KL summed over positions, mean over batch and channels, tau 1,
# loss_weight 1. That is CWD's loss (at tau 1 its tau^2 factor is 1) on
# label-size logits, computed by CGDLoss with group_size 1 (one class per
# group), SegDistill's implementation of CD.
# Protocol: the student's own mmseg recipe, as
# ../cgd/cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py.
# Published (SegDistill README table 5, ADE20K val mIoU / mAcc; teacher
# SegFormer-B3 50.0): SegFormer-B0 38.0 / 48.76 -> 39.66 / 49.96 (CD).
# Other CWD settings for SegFormer: CIRKD (Cityscapes, B4 -> B0) tau 4,
# 0.3 on logits + 5 on features, 75.58 -> 74.80; mmrazor / pppppM (mmseg
# 0.x configs) tau 1, weight 5 (Cityscapes) or 10 (ADE20K) on the logits at
# their own resolution (ChannelWiseDivergence).
# Teacher: mmseg's model-zoo SegFormer-B3 (160k; 47.82 val),
# segformer_mit-b3_512x512_160k_ade20k_20210726_081410-962b98d2.pth,
# downloaded from download.openmmlab.com.
#   tools/dist_train.sh distillation_configs/cwd/cwd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py 8
_base_ = [
    '../_base_/models/distill_segformer_mit-b3_segformer_mit-b0_ade20k.py',
    'mmseg::_base_/datasets/ade20k.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
train_dataloader = dict(batch_size=2)
model = dict(
    distill=dict(
        student_tensors=dict(logits='decode_head.conv_seg'),
        teacher_tensors=dict(logits='decode_head.conv_seg'),
        losses=dict(
            loss_cwd=dict(
                type='CGDLoss',
                student='logits',
                teacher='logits',
                group_size=1,
                tau=1.0,
                resize_to='labels',
                loss_weight=1.0))))
