# DeepLabV3-R18-d8 (ImageNet-pretrained backbone) on CamVid, trained alone:
# the CIRKD student and its baseline (CIRKD: 66.92 mIoU at 360x360).
_base_ = ['./deeplabv3_r101-d8_4xb2-40k_camvid-360x360.py']
model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
