# IFVD (Wang et al., ECCV 2020; YukangWang/IFVD) on PSPNet-R101 -> PSPNet-R18,
# CamVid 360x360: IFV loss (cosine of each pixel's feature to its class
# prototype in the same image, MSE between the two networks' maps),
# loss_weight = 200, plus pixel-wise KD on the 1/8 logits with
# nn.KLDivLoss's default 'mean' (KDLoss reduction='element_mean', tau = 1),
# loss_weight = 10: the IFVD repo's defaults (../_base_/distill/ifvd.py).
# Not included: the repo's SKD adversarial term (lambda_adv 0.001 with a
# WGAN-GP discriminator; ../_base_/distill/ifvd_adversarial.py).
# Published (Cityscapes val, not CamVid): CWD paper Table 2, PSPNet-R101
# 78.56 -> R18 69.10: IFVD 71.35 on features, 70.66 on logits; CIRKD's
# re-implementation, DeepLabV3-R101 78.07 -> R18 74.21: 75.59. CIRKD's CamVid
# PSPNet-R18 baseline (no KD): 66.73 mIoU.
# Expected teacher checkpoint: checkpoints/camvid/pspnet_r101-d8_4xb2-40k_camvid.pth
# (train distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py
# first, or pass --cfg-options model.teacher.checkpoint=PATH).
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/ifvd.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
distill = _base_.distill
# The IFV term here takes the PSP module output before its Dropout2d(0.1),
# decode_head.bottleneck (512 channels in R101, 128 in R18; each network in
# its own channel space, no connector); the reference takes it after the
# dropout, the base's dict(path='decode_head.conv_seg', side='input').
distill.student_tensors.feat = 'decode_head.bottleneck'
distill.teacher_tensors.feat = 'decode_head.bottleneck'
distill.losses.loss_ifv.num_classes = 11  # CamVid
model = dict(distill=distill)
