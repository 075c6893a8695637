# FitNets (Romero et al., ICLR 2015) as CIRKD re-implements it for
# segmentation, MSE (10) between the student's head feature through a 1x1
# regressor and the teacher's, plus pixel-wise KD (1) on the logits:
# ../_base_/distill/fitnet.py.
# Here on PSPNet-R101 -> PSPNet-R18, CamVid 360x360: the head feature is the
# PSP module output, decode_head.bottleneck (512 channels in R101, 128 in
# R18, stride 8; the regressor maps 128 -> 512). CIRKD's CamVid baseline
# student (no KD): 66.73 mIoU.
# Expected teacher checkpoint: checkpoints/camvid/pspnet_r101-d8_4xb2-40k_camvid.pth
# (train distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py).
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/fitnet.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
