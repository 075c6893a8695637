# CWD (Shu et al., ICCV 2021) on the logits, as the official code
# (irfanICMLL/TorchDistiller SemSeg-distill, exp_cwd.sh channel kl 3 4 False
# False False): channel-wise distribution of decode_head.conv_seg's logits
# (one spatial softmax per channel at temperature tau, KL times tau^2),
# tau 4, loss_weight 3, nothing else (no pixel-wise KD, no adversarial
# term).
# CWD on features as well: ./cwd_logits_feature.py (CIRKD's setting); on
# features alone: ./cwd_feature.py (the official code's).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
    student_tensors=dict(logits='decode_head.conv_seg'),
    teacher_tensors=dict(logits='decode_head.conv_seg'),
    losses=dict(
        loss_cwd=dict(
            type='ChannelWiseDivergence',
            student='logits',
            teacher='logits',
            tau=4.0,
            loss_weight=3.0)))
