# "An Efficient Knowledge Distillation Architecture for Real-time Semantic
# Segmentation" (code: AmirMansurian/AICSD at 3f7c969), DeepLabV3+ teacher
# and student, pixel-wise + pair-wise distillation on pre-ReLU features:
#   * pixel-wise ("pre-ReLU GAM"): a = mean_c f^2 of the decoder's last conv
#     before its ReLU (decode_head.sep_bottleneck.1.pointwise_conv.bn,
#     stride 4), L2-normalised along H per column (the reference's
#     F.normalize quirk), MSE mean, loss_weight 100;
#   * pair-wise: SKD's loss on the ASPP output before its ReLU
#     (decode_head.bottleneck.bn, stride 8), pool_scale 0.5, detached-norm
#     cosine, loss_weight 1.
# Both terms compare channel-free maps: no connector, whatever the widths.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
    student_tensors=dict(
        decoder='decode_head.sep_bottleneck.1.pointwise_conv.bn',
        aspp='decode_head.bottleneck.bn'),
    teacher_tensors=dict(
        decoder='decode_head.sep_bottleneck.1.pointwise_conv.bn',
        aspp='decode_head.bottleneck.bn'),
    losses=dict(
        loss_prerelu_pixel=dict(
            type='PreReLUAttentionLoss',
            student='decoder',
            teacher='decoder',
            normalize='h_axis',
            loss_weight=100.0),
        loss_prerelu_pair=dict(
            type='SKDPairWiseLoss',
            student='aspp',
            teacher='aspp',
            pool_scale=0.5,
            detach_norm=True,
            loss_weight=1.0)))
