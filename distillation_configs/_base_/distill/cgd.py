# CGD, channel group distillation (wzpscott/SegDistill), with the reference
# CGDLoss defaults: the logits (decode_head.conv_seg) of both networks
# resized bilinearly to the label size (resize_to='labels': B x K x H x W
# floats per network at the crop size), channels in groups of 10
# consecutive classes (a class count that 10 does not divide is padded with
# zero-probability channels), one distribution per (image, group) over its
# 10 x H x W entries, tau 2 (no tau^2 factor), loss_weight 3, the same random
# channel permutation on both sides every 1000th iteration.
# CGD+WS (SegDistill's CGDLossWS, "CGD+SW" in its table 5): add
#   weight_schedule=[dict(type='LinearWarmup', end=2000),
#                    dict(type='LinearDecay', begin=..., end=...)]
# to the loss entry (ADE20K: 110k -> 120k of 160k,
# ../../cgd/cgd-ws_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py).
# SegDistill's own settings: group_size 10, tau 2, loss_weight 3 for
# SegFormer-B0 and Swin-T UPerNet (ADE20K, AdamW); group_size 5 for
# PSPNet-R50.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
    student_tensors=dict(logits='decode_head.conv_seg'),
    teacher_tensors=dict(logits='decode_head.conv_seg'),
    losses=dict(
        loss_cgd=dict(
            type='CGDLoss',
            student='logits',
            teacher='logits',
            group_size=10,
            tau=2.0,
            resize_to='labels',
            shuffle_interval=1000,
            loss_weight=3.0)))
