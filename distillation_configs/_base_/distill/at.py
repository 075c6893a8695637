# Attention transfer (Zagoruyko & Komodakis, ICLR 2017) as CIRKD
# re-implements it for segmentation (winycg/CIRKD losses/at.py,
# train_scripts/train_kd): a = L2-normalised flattened channel mean of the
# squared head feature, MSE (mean over B*h*w) between student and teacher,
# loss_weight = 1e4; plus pixel-wise KD on the logits with weight 1
# (./kd.py), as every CIRKD baseline.
# Head feature: the PSP module output, decode_head.bottleneck (AT compares
# channel-free maps, so no channel connector is needed).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./kd.py']
distill = dict(
    student_tensors=dict(feat='decode_head.bottleneck'),
    teacher_tensors=dict(feat='decode_head.bottleneck'),
    losses=dict(
        loss_at=dict(
            type='ATLoss', student='feat', teacher='feat', loss_weight=1e4)))
