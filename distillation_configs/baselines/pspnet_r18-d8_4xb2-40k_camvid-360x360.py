# PSPNet-R18-d8 (ImageNet-pretrained backbone) on CamVid, trained alone: the
# student of the CamVid distillation configs and its no-distillation
# baseline (CIRKD: 66.73 mIoU for PSPNet-R18 at 360x360).
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (360, 360)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128, num_classes=11),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=11))
