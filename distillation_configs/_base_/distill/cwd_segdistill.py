# CWD, channel-wise distillation (Shu et al., ICCV 2021), as SegDistill's
# "CD" (wzpscott/SegDistill, table 5): one spatial distribution per (image,
# class channel) of the logits (decode_head.conv_seg) resized bilinearly to
# the label size, KL summed over positions, mean over batch and channels,
# tau 1, loss_weight 1. That is CWD's loss (at tau 1 its tau^2 factor is 1)
# on label-size logits, computed by CGDLoss with group_size 1 (one class per
# group), SegDistill's implementation of CD.
# Other CWD settings for SegFormer: CIRKD (Cityscapes, B4 -> B0) tau 4,
# 0.3 on logits + 5 on features, 75.58 -> 74.80; mmrazor / pppppM (mmseg
# 0.x configs) tau 1, weight 5 (Cityscapes) or 10 (ADE20K) on the logits at
# their own resolution (ChannelWiseDivergence).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
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
            loss_weight=1.0)))
