# CIRKD (Yang et al., CVPR 2022), DeepLabV3-R101 -> DeepLabV3-R18 on CamVid
# 360x360: pixel-wise KD (1), mini-batch pixel-to-pixel (1, tau 0.1) and
# memory pixel-to-pixel / pixel-to-region (0.1 each) on the head feature
# (the input of the classifier, 512 channels in R101, 128 in R18):
# ../_base_/distill/cirkd.py.
# Published (CIRKD README, CamVid test): 66.92 -> 68.21 mIoU (teacher 69.84).
# CIRKD protocol: 8 GPUs x 2 images, 40k iterations, SGD lr 0.02, wd 1e-4.
# Train the teacher with
#   distillation_configs/baselines/deeplabv3_r101-d8_4xb2-40k_camvid-360x360.py
_base_ = [
    '../_base_/distill/cirkd.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
distill = _base_.distill
distill.losses.loss_memory.num_classes = 11  # CamVid
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/../baselines/'
        'deeplabv3_r101-d8_4xb2-40k_camvid-360x360.py',
        checkpoint='checkpoints/camvid/deeplabv3_r101-d8_4xb2-40k_camvid.pth'),
    student=dict(
        config='{{fileDirname}}/../baselines/'
        'deeplabv3_r18-d8_4xb2-40k_camvid-360x360.py'),
    distill=distill)
