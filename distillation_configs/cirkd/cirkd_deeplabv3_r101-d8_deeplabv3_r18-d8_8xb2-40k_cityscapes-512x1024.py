# CIRKD (Yang et al., CVPR 2022), DeepLabV3-R101 -> DeepLabV3-R18 on
# Cityscapes 512x1024, 8 GPUs x 2 images, 40k iterations, SGD lr 0.02,
# wd 1e-4; losses: ../_base_/distill/cirkd.py. Published (CIRKD README,
# val / test): 74.21 -> 76.38 / 75.05 (CIRKD's own teacher: 78.07). The
# teacher here is mmseg's model-zoo DeepLabV3-R101 (80.20 val), downloaded
# from the URL in
# ../_base_/models/distill_deeplabv3_r101-d8_deeplabv3_r18-d8_cityscapes.py.
#   tools/dist_train.sh distillation_configs/cirkd/cirkd_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py 8
_base_ = [
    '../_base_/models/distill_deeplabv3_r101-d8_deeplabv3_r18-d8_cityscapes.py',
    '../_base_/distill/cirkd.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
distill = _base_.distill
distill.losses.loss_memory.num_classes = 19  # Cityscapes
model = dict(distill=distill)
