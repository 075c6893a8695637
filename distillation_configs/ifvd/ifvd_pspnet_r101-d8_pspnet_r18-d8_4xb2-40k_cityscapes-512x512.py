# IFVD (Wang et al., ECCV 2020; YukangWang/IFVD), PSPNet-R101 -> PSPNet-R18
# on Cityscapes with the IFVD repo's protocol and full objective
# (../_base_/distill/ifvd_adversarial.py):
#   CE + 0.4 CE_aux + 200 IFV + 10 KD + 0.001 adversarial (+ the D step)
# * IFV loss, loss_weight 200, on the PSP module output after Dropout2d(0.1)
#   as the reference takes it: the input of decode_head.conv_seg (512
#   channels in R101, 128 in R18, each network in its own channel space, no
#   connector; the teacher's dropout is off, it runs in eval mode);
# * pixel-wise KD on the 1/8 logits with nn.KLDivLoss's default 'mean'
#   (KDLoss reduction='element_mean', tau 1), loss_weight 10;
# * SKD's holistic term: SAGAN discriminator on the raw logits (BatchNorm
#   preprocessing), WGAN-GP, student term 0.001, discriminator loss 0.1,
#   gradient penalty 10; discriminator Adam lr 4e-4, betas (0.9, 0.99),
#   poly-decayed like the student; one D step per student step.
# Protocol: 512x512 crops, batch 8 (4 GPUs x 2), 40k iterations, SGD lr 0.01,
# momentum 0.9, wd 5e-4, poly 0.9.
# Published (Cityscapes val, PSPNet-R101 78.56 -> R18 69.10): CWD paper
# Table 2's re-implementation of IFVD, 71.35 (features) / 70.66 (logits);
# IFVD's own paper number (reportedly 74.54 val / 72.74 test) is UNVERIFIED
# (the repo README gives none).
# Teacher: mmseg's model-zoo PSPNet-R101-d8 (80k, 512x1024; 79.76 val),
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py).
# Differences: mmseg's teacher and 64x64 maps (65x65 in the reference);
# random rescaling and flipping are on (the IFVD README command leaves them
# off); the teacher is mmseg's, not the one IFVD distilled from.
#   tools/dist_train.sh distillation_configs/ifvd/ifvd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/distill/ifvd_adversarial.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k_adversarial.py'
]
distill = _base_.distill
distill.losses.loss_ifv.num_classes = 19  # Cityscapes
model = dict(distill=distill)
# the IFVD repo's discriminator optimizer: Adam 4e-4, betas (0.9, 0.99),
# instead of SKD's SGD of schedule_40k_adversarial.py (same poly decay)
optim_wrapper = dict(
    discriminator=dict(
        optimizer=dict(_delete_=True, type='Adam', lr=4e-4,
                       betas=(0.9, 0.99))))
