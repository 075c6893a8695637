# Pixel-wise KD with logit standardisation (Sun et al., "Logit
# Standardization in Knowledge Distillation", CVPR 2024): every pixel's class
# logits z-scored (mean 0, std 1) on both sides before the tempered softmax,
# so the student matches the teacher's relative logits rather than their
# scale. tau is then the paper's base temperature (2 in its CIFAR-100 runs;
# each vector's effective temperature is tau x its std), tau^2 kept; the
# paper has no segmentation setting: KD's weight 1 (./kd.py) with tau 2.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./kd.py']
distill = dict(
    losses=dict(loss_kd=dict(tau=2.0, logit_standardization=True)))
