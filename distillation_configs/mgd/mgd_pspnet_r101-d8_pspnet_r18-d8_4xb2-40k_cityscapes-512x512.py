# MGD on the last backbone stage plus CWD on the logits, PSPNet-R101 ->
# PSPNet-R18 on Cityscapes (512x512 crops, 4 GPUs x 2 images, 40k
# iterations, SGD lr 0.01): ../_base_/distill/mgd.py, the official code's
# setting. Published (MGD paper, Cityscapes val): 69.85 -> 73.63.
#   tools/dist_train.sh distillation_configs/mgd/mgd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/distill/mgd.py', '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
