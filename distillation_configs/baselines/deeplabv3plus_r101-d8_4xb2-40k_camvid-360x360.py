# DeepLabV3+-R101-d8 on CamVid (SegNet split), trained alone: the teacher of
# the pre-ReLU (AmirMansurian) CamVid distillation config. The paper's
# teacher (PASCAL VOC, output stride 16) reached 74.78 mIoU; there is no
# published CamVid number for this model.
#   tools/dist_train.sh distillation_configs/baselines/deeplabv3plus_r101-d8_4xb2-40k_camvid-360x360.py 4
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/camvid.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
crop_size = (360, 360)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
