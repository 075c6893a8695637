# DeepLabV3+-MobileNetV2-d8 (ImageNet-pretrained, mmcls://mobilenet_v2) on
# PASCAL VOC 2012 + SBD (voc12aug), trained alone with mmseg's VOC recipe
# (512x512, 4 GPUs x 4, 40k iterations, SGD 0.01, wd 5e-4): the MobileNetV2
# student of the pre-ReLU (AmirMansurian) VOC distillation config and its
# no-distillation baseline. mmseg's DeepLabV3+-R101 VOC config with the
# backbone and channels of mmseg's mobilenet-v2-d8_deeplabv3plus configs
# (output stride 8; heads keep 512 channels). The paper's MobileNetV2
# student (output stride 16, 513 crops, its own recipe): 62.92 mIoU.
#   tools/dist_train.sh distillation_configs/baselines/mobilenet-v2-d8_deeplabv3plus_4xb4-40k_voc12aug-512x512.py 4
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py'
]
model = dict(
    pretrained='mmcls://mobilenet_v2',
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=320, c1_in_channels=24),
    auxiliary_head=dict(in_channels=96))
