# Pixel-wise KD with logit standardisation (CVPR 2024), PSPNet-R101 ->
# PSPNet-R18 on CamVid: ../_base_/distill/kd_logit_standardization.py.
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/kd_logit_standardization.py',
    '../_base_/datasets/camvid.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
