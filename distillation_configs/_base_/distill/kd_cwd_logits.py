# Pixel-wise KD (./kd.py: tau 1, weight 1) and CWD (tau 4, weight 3, as
# ./cwd_logits.py) on the same logits, decode_head.conv_seg: the demo's
# distillation (../../demo/).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./kd.py']
distill = dict(
    losses=dict(
        loss_cwd=dict(
            type='ChannelWiseDivergence', student='logits', teacher='logits',
            tau=4.0, loss_weight=3.0)))
