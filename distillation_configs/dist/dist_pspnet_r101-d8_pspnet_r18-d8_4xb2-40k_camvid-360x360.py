# DIST (Huang et al., NeurIPS 2022; hunto/DIST_KD segmentation/) on
# PSPNet-R101 -> PSPNet-R18, CamVid 360x360: inter- and intra-class Pearson
# correlation terms, beta = gamma = 1, tau = 1, on the main logits
# (loss_weight lambda = 1) and on the auxiliary FCN head's logits
# (0.4 * lambda): ../_base_/distill/dist.py.
# The intra term depends on the per-GPU batch (2 images here, 4 GPUs;
# the reference used 2 per GPU too, on 8 GPUs).
# Published (Cityscapes val, not CamVid; teacher DeepLabV3-R101 78.07):
# DeepLabV3-R18 74.21 -> 77.10, PSPNet-R18 72.55 -> 76.31. CIRKD's CamVid
# PSPNet-R18 baseline (no KD): 66.73 mIoU.
# Expected teacher checkpoint: checkpoints/camvid/pspnet_r101-d8_4xb2-40k_camvid.pth
# (train distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py
# first, or pass --cfg-options model.teacher.checkpoint=PATH).
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/dist.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
