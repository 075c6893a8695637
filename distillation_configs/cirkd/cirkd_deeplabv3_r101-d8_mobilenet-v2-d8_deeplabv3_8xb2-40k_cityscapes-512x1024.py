# CIRKD (Yang et al., CVPR 2022), DeepLabV3-R101 -> DeepLabV3-MobileNetV2
# (mmseg's mobilenet-v2-d8_deeplabv3, output stride 8, ImageNet-initialised
# from mmcls://mobilenet_v2) on Cityscapes; everything else as
# ./cirkd_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py:
# pixel-wise KD (1), mini-batch pixel-to-pixel (1, tau 0.1) and memory
# pixel-to-pixel / pixel-to-region (0.1 each) on the head feature; 512x1024,
# 8 GPUs x 2, 40k iterations, SGD lr 0.02, wd 1e-4.
# Head feature: the input of decode_head.conv_seg (after ASPP, 3x3 conv, BN,
# ReLU and dropout), 512 channels in both networks here (mmseg's MobileNetV2
# DeepLabV3 keeps the R101 head width), 1/8 resolution. The mini-batch loss
# compares per-network hw x hw similarities and the memory loss projects the
# student feature to the teacher's width with its own head, so no connector
# is needed (and none would be for other widths either).
# Published (CIRKD README, Cityscapes val / test, teacher 78.07):
# DeepLabV3-MobileNetV2 73.12 / 72.36 -> 75.42 / 74.03.
# Teacher: mmseg's model-zoo DeepLabV3-R101-d8 (80k, 512x1024; 80.20 val),
# deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth,
# downloaded from download.openmmlab.com.
# Differences: mmseg's MobileNetV2 student has an FCN auxiliary head (CE 0.4)
# that CIRKD's has not (CIRKD adds the auxiliary CE for ResNet students
# only); mmseg's heads (512 channels; CIRKD's teacher head has 256).
#   tools/dist_train.sh distillation_configs/cirkd/cirkd_deeplabv3_r101-d8_mobilenet-v2-d8_deeplabv3_8xb2-40k_cityscapes-512x1024.py 8
_base_ = ['./cirkd_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py']
model = dict(
    student=dict(
        config='mmseg::mobilenet_v2/'
        'mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py'))
