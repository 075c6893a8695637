# CIRKD (Yang et al., CVPR 2022), DeepLabV3-R101 -> DeepLabV3-R18 on
# Cityscapes 512x1024, 8 GPUs x 2 images, 40k iterations, SGD lr 0.02,
# wd 1e-4. Published (CIRKD README, val / test): 74.21 -> 76.38 / 75.05
# (CIRKD's own teacher: 78.07). The teacher here is mmseg's model-zoo
# DeepLabV3-R101 (80.20 val), downloaded from the URL below.
#   tools/dist_train.sh distillation_configs/cirkd/cirkd_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py 8
_base_ = [
    '../_base_/models/distill_deeplabv3_r101-d8_deeplabv3_r18-d8_cityscapes.py',
    'mmseg::_base_/datasets/cityscapes.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
feat = dict(path='decode_head.conv_seg', side='input')
model = dict(
    distill=dict(
        student_tensors=dict(logits='decode_head.conv_seg', feat=feat),
        teacher_tensors=dict(logits='decode_head.conv_seg', feat=feat),
        losses=dict(
            loss_kd=dict(
                type='KDLoss', student='logits', teacher='logits', tau=1.0,
                loss_weight=1.0),
            loss_minibatch=dict(
                type='CIRKDMiniBatchLoss', student='feat', teacher='feat',
                tau=0.1, loss_weight=1.0),
            loss_memory=dict(
                type='CIRKDMemoryLoss', student='feat', teacher='feat',
                num_classes=19, pixel_memory_size=20000,
                region_memory_size=2000, contrast_tau=0.1,
                pixel_weight=0.1, region_weight=0.1))))
