# Plain pixel-wise KD (Hinton et al., 2015, on every pixel of the logits),
# PSPNet-R101 -> PSPNet-R18 on CamVid: KL at temperature 1, mean over
# pixels, weight 1 (CIRKD's KD term, which its tables add to every method):
# ../_base_/distill/kd.py.
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/kd.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
