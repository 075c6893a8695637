# FitNets (Romero et al., ICLR 2015) as CIRKD re-implements it for
# segmentation (winycg/CIRKD losses/fitnet.py, train_scripts/train_kd):
# MSE (mean over all elements) between the student's head feature, mapped to
# the teacher's channels by a bare 1x1 conv without bias (the regressor,
# trained with the student), and the teacher's, loss_weight = 10; plus
# pixel-wise KD on the logits with weight 1 (./kd.py), as every CIRKD
# baseline.
# Head feature: the PSP module output, decode_head.bottleneck.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./kd.py']
distill = dict(
    student_tensors=dict(feat='decode_head.bottleneck'),
    teacher_tensors=dict(feat='decode_head.bottleneck'),
    # FitNet's regressor: 1x1 conv, no norm, no bias (channels filled in
    # from the probed shapes, e.g. 128 -> 512 for PSPNet-R18 -> R101)
    connectors=dict(
        feat=dict(type='ChannelConnector', norm_cfg=None, bias=False)),
    losses=dict(
        loss_fitnet=dict(
            type='FitNetLoss',
            student='feat',
            teacher='feat',
            loss_weight=10.0)))
