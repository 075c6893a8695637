# CIRKD (Yang et al., CVPR 2022), DeepLabV3-R101 -> DeepLabV3-R18 on CamVid
# 360x360: pixel-wise KD (1), mini-batch pixel-to-pixel (1, tau 0.1) and
# memory pixel-to-pixel / pixel-to-region (0.1 each) on the head feature.
# Published (CIRKD README, CamVid test): 66.92 -> 68.21 mIoU (teacher 69.84).
# CIRKD protocol: 8 GPUs x 2 images, 40k iterations, SGD lr 0.02, wd 1e-4.
# Train the teacher with
#   distillation_configs/baselines/deeplabv3_r101-d8_4xb2-40k_camvid-360x360.py
_base_ = [
    '../_base_/datasets/camvid.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
# the head feature: after ASPP, 3x3 conv, BN, ReLU and dropout (the input of
# the classifier), 512 channels in R101, 128 in R18
feat = dict(path='decode_head.conv_seg', side='input')
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/../baselines/'
        'deeplabv3_r101-d8_4xb2-40k_camvid-360x360.py',
        checkpoint='checkpoints/camvid/deeplabv3_r101-d8_4xb2-40k_camvid.pth'),
    student=dict(
        config='{{fileDirname}}/../baselines/'
        'deeplabv3_r18-d8_4xb2-40k_camvid-360x360.py'),
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
                num_classes=11, pixel_memory_size=20000,
                region_memory_size=2000, contrast_tau=0.1,
                pixel_weight=0.1, region_weight=0.1))))
