# SKD, all three terms: pixel-wise (10) + pair-wise (0.5) + holistic
# adversarial distillation, PSPNet-R101 -> PSPNet-R18 on CamVid, with the
# settings of the SKD master script (../_base_/distill/skd_pixel_pair_holistic.py):
# WGAN-GP, student term lambda_d = 0.1, discriminator loss 0.1, gradient
# penalty 10, BatchNorm preprocessing of the raw logits; discriminator SGD
# lr 4e-4 (momentum 0.9, wd 5e-4) with the same poly decay as the student
# (../_base_/schedules/schedule_40k_adversarial.py). One discriminator step
# per student step. Everything else as
# ./skd_pixel-pair_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py.
# Published (Cityscapes val, SKD README): 69.10 -> 74.08 mIoU with all
# three terms; CamVid (CVPR'19 README, ESPNet): 57.8 -> 61.4.
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/skd_pixel_pair_holistic.py',
    '../_base_/datasets/camvid.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k_adversarial.py'
]
model = dict(distill=_base_.distill)
