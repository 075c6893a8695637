# CWD on the logits (./cwd_logits.py: tau 4, loss_weight 3) and on features,
# as CIRKD's re-implementation of CWD: the PSP head output
# (decode_head.bottleneck; 128 channels in PSPNet-R18, 512 in R101) through
# a 1x1 conv + BN connector to the teacher's channels, tau 4,
# loss_weight 50.
# The official code's feature runs differ (feature after dropout, connector
# with ReLU and no bias, tau 3, loss_weight 40, no loss on the logits):
# ./cwd_feature.py.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./cwd_logits.py']
distill = dict(
    student_tensors=dict(feat='decode_head.bottleneck'),
    teacher_tensors=dict(feat='decode_head.bottleneck'),
    connectors=dict(feat=dict(type='ChannelConnector')),
    losses=dict(
        loss_cwd_feat=dict(
            type='ChannelWiseDivergence',
            student='feat',
            teacher='feat',
            tau=4.0,
            loss_weight=50.0)))
