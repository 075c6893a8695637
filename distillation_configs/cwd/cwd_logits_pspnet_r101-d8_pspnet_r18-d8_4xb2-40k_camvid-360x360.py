# CWD (Shu et al., ICCV 2021) on the logits, PSPNet-R101 -> PSPNet-R18 on
# CamVid: tau = 4, loss_weight = 3 as in the official Cityscapes code
# (../_base_/distill/cwd_logits.py; Cityscapes: 69.10 -> 74.87 mIoU for
# this pair, CWD paper Table 2).
# Train the teacher first with
#   distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py
# and put its checkpoint at the path below (or pass
# --cfg-options model.teacher.checkpoint=PATH).
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/cwd_logits.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
