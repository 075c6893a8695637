# CWD (Shu et al., ICCV 2021) on features, PSPNet-R101 -> PSPNet-R18 on
# Cityscapes, as the official code's feature runs (TorchDistiller
# SemSeg-distill, --cwd-feat True; ../_base_/distill/cwd_feature.py):
# channel-wise distribution of the PSP module output after dropout (the
# input of decode_head.conv_seg: 128 channels in R18, 512 in R101), the
# student's mapped to 512 channels by a connector as the reference's (1x1
# conv without bias, BN, ReLU), tau 3, loss_weight 40; no loss on the
# logits. (CIRKD's re-implementation, 50 / 4 on decode_head.bottleneck
# together with CWD on the logits, is
# ./cwd_feature_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py.)
# Published (Cityscapes val, CWD paper Table 2, mean of 3 runs): PSPNet-R101
# 78.56 -> R18 69.10 -> 74.27 with CWD on features; which lambda/tau gave it
# is not documented.
# Teacher: mmseg's model-zoo PSPNet-R101-d8 (80k, 512x1024; 79.76 val),
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py).
# Differences: mmseg's teacher and 64x64 maps (65x65); the connector's
# optimizer and BN (see the base).
#   tools/dist_train.sh distillation_configs/cwd/cwd_feature_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/distill/cwd_feature.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
