# SKD (pixel-wise + pair-wise + holistic), PSPNet-R101 -> PSPNet-R18 on
# Cityscapes with the SKD protocol: 512x512 crops, batch 8 (4 GPUs x 2),
# 40k iterations, SGD lr 0.01, wd 5e-4, poly 0.9; lambda_pi 10,
# lambda_pa 0.5, WGAN-GP lambda_d 0.1, lambda_gp 10, discriminator SGD 4e-4
# (../_base_/distill/skd_pixel_pair_holistic.py,
# ../_base_/schedules/schedule_40k_adversarial.py).
# Published (SKD README, Cityscapes val): 69.10 -> 71.78 (pixel + pair)
# -> 74.08 (all three); the teacher here is mmseg's model-zoo PSPNet-R101
# (79.76 val) instead of SKD's (78.56). The student starts from ImageNet
# weights (open-mmlab://resnet18_v1c).
#   tools/dist_train.sh distillation_configs/skd/skd_pixel-pair-holistic_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/distill/skd_pixel_pair_holistic.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k_adversarial.py'
]
distill = _base_.distill
# Pair-wise graph: the reference max-pools its 65x65 maps with
# floor(0.5 * 65) = 32 (ceil mode), a 3x3 graph. mmseg's d8 models give
# 64x64 maps for a 512 crop, where the base's pool_scale 0.5 would make a
# 2x2 graph, so the kernel is fixed at 22 (ceil mode: windows 22, 22, 20),
# a 3x3 graph.
distill.losses.loss_skd_pair.pop('pool_scale')
distill.losses.loss_skd_pair.kernel_size = 22
model = dict(distill=distill)
