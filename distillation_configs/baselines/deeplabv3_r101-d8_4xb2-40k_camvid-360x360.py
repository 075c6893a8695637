# DeepLabV3-R101-d8 on CamVid (SegNet split), trained alone: the teacher of
# the CIRKD CamVid configs (CIRKD reports 69.84 mIoU for it at 360x360).
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (360, 360)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
