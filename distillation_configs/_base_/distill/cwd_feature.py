# CWD (Shu et al., ICCV 2021) on features, as the official code's feature
# runs (TorchDistiller SemSeg-distill, --cwd-feat True): channel-wise
# distribution of the PSP module output after dropout (the input of
# decode_head.conv_seg: 128 channels in PSPNet-R18, 512 in R101), the
# student's mapped to the teacher's channels by a connector as the
# reference's (1x1 conv without bias, BN, ReLU), tau 3, loss_weight 40; no
# loss on the logits. The official feature runs used lambda 35-40 with
# tau 1-10 (released logs: 72.2-74.0 val; 40 / 3 gave 73.85); CIRKD's
# re-implementation uses 50 / 4 on decode_head.bottleneck together with CWD
# on the logits (./cwd_logits_feature.py).
# Differences from the reference: the connector is in the student's
# optimizer and follows its poly schedule (the reference's stays at lr 0.01,
# its poly routine only updates the first param group); plain per-GPU BN in
# the connector (InPlaceABNSync in the reference).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
feat = dict(path='decode_head.conv_seg', side='input')
distill = dict(
    student_tensors=dict(feat=feat),
    teacher_tensors=dict(feat=feat),
    # channels (e.g. 128 -> 512) filled in from the probed shapes
    connectors=dict(
        feat=dict(
            type='ChannelConnector', bias=False, act_cfg=dict(type='ReLU'))),
    losses=dict(
        loss_cwd_feat=dict(
            type='ChannelWiseDivergence',
            student='feat',
            teacher='feat',
            tau=3.0,
            loss_weight=40.0)))
