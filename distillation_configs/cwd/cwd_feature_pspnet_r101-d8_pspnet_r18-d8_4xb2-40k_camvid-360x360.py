# CWD on features: the PSP head output (decode_head.bottleneck, 128 channels
# in R18, 512 in R101) through a 1x1 conv + BN connector, tau = 4,
# loss_weight = 50 (CIRKD's feature setting), plus CWD on the logits.
_base_ = ['./cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py']
model = dict(
    distill=dict(
        student_tensors=dict(feat='decode_head.bottleneck'),
        teacher_tensors=dict(feat='decode_head.bottleneck'),
        connectors=dict(feat=dict(type='ChannelConnector')),
        losses=dict(
            loss_cwd_feat=dict(
                type='ChannelWiseDivergence',
                student='feat',
                teacher='feat',
                tau=4.0,
                loss_weight=50.0))))
