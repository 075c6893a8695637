# CWD on features: the PSP head output (decode_head.bottleneck, 128 channels
# in R18, 512 in R101) through a 1x1 conv + BN connector, tau = 4,
# loss_weight = 50 (CIRKD's feature setting), plus CWD on the logits
# (tau 4, loss_weight 3): ../_base_/distill/cwd_logits_feature.py.
# PSPNet-R101 -> PSPNet-R18 on CamVid; teacher, data and schedule as
# ./cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py.
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/cwd_logits_feature.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
