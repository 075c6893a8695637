# DeepLabV3+-R18-d8 (ImageNet-pretrained backbone) on PASCAL VOC 2012 +
# SBD (voc12aug), trained alone with mmseg's VOC recipe (512x512, 4 GPUs x 4,
# 40k iterations, SGD 0.01, wd 5e-4): the student of the pre-ReLU
# (AmirMansurian) VOC distillation config and its no-distillation baseline.
# mmseg's DeepLabV3+-R101 VOC config with the R18 channel overrides of
# mmseg's own deeplabv3plus_r18-d8 configs (head 128 channels, low-level 12).
# The paper's R18 student (output stride 16, 513 crops, its own recipe):
# 66.59 mIoU.
#   tools/dist_train.sh distillation_configs/baselines/deeplabv3plus_r18-d8_4xb4-40k_voc12aug-512x512.py 4
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py'
]
model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(
        c1_in_channels=64, c1_channels=12, in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
