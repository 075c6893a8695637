# DeepLabV3+-R18-d8 (ImageNet-pretrained backbone) on CamVid, trained alone:
# the student of the pre-ReLU (AmirMansurian) CamVid distillation config and
# its no-distillation baseline. Channel overrides as mmseg's own
# deeplabv3plus_r18-d8 configs (head 128 channels, low-level 12).
_base_ = ['./deeplabv3plus_r101-d8_4xb2-40k_camvid-360x360.py']
model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(
        c1_in_channels=64, c1_channels=12, in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
