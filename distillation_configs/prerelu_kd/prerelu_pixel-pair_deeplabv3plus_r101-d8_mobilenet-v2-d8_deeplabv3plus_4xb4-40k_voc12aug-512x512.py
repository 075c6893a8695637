# Pre-ReLU pixel-wise (100) + pair-wise (1) distillation ("An Efficient
# Knowledge Distillation Architecture for Real-time Semantic Segmentation",
# AmirMansurian/AICSD at 3f7c969), DeepLabV3+-R101 -> DeepLabV3+-MobileNetV2
# on PASCAL VOC 2012 aug; everything else as
# ./prerelu_pixel-pair_deeplabv3plus_r101-d8_deeplabv3plus_r18-d8_4xb4-40k_voc12aug-512x512.py
# (same module paths: the MobileNetV2 student has the same
# DepthwiseSeparableASPPHead, 512 channels wide, so
# decode_head.sep_bottleneck.1.pointwise_conv.bn is 512 x 128 x 128 and
# decode_head.bottleneck.bn 512 x 64 x 64 for 512 crops; both terms compare
# channel-free maps, so no connector).
# Published (PASCAL VOC 2012 val, mean of 3 seeds; teacher 74.78):
# MobileNetV2 62.92 -> 64.71 with both terms (64.48 pixel-wise only, 63.56
# pair-wise only).
# Teacher: mmseg's model-zoo DeepLabV3+-R101-d8 voc12aug (40k; 78.62 val),
# deeplabv3plus_r101-d8_512x512_40k_voc12aug_20200613_205333-faf03387.pth,
# downloaded from download.openmmlab.com.
# Student: ../baselines/mobilenet-v2-d8_deeplabv3plus_4xb4-40k_voc12aug-512x512.py
# (output stride 8, as mmseg's MobileNetV2 DeepLabV3+; the paper's: 16).
#   tools/dist_train.sh distillation_configs/prerelu_kd/prerelu_pixel-pair_deeplabv3plus_r101-d8_mobilenet-v2-d8_deeplabv3plus_4xb4-40k_voc12aug-512x512.py 4
_base_ = ['./prerelu_pixel-pair_deeplabv3plus_r101-d8_deeplabv3plus_r18-d8_4xb4-40k_voc12aug-512x512.py']
model = dict(
    student=dict(
        config='{{fileDirname}}/../baselines/'
        'mobilenet-v2-d8_deeplabv3plus_4xb4-40k_voc12aug-512x512.py'))
