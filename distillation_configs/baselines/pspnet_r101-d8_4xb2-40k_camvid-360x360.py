# PSPNet-R101-d8 on CamVid (SegNet split), trained alone: the teacher of the
# CamVid distillation configs. CIRKD reports 69.84 mIoU (DeepLabV3-R101 at
# 360x360) for its CamVid teacher.
#   tools/dist_train.sh distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py 4
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (360, 360)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
