# "An Efficient Knowledge Distillation Architecture for Real-time Semantic
# Segmentation" (code: AmirMansurian/AICSD at 3f7c969), DeepLabV3+-R101 ->
# DeepLabV3+-R18 on CamVid, pixel-wise + pair-wise on pre-ReLU features
# (../_base_/distill/prerelu_pixel_pair.py):
#   * pixel-wise ("pre-ReLU GAM"): a = mean_c f^2 of the decoder's last conv
#     before its ReLU (decode_head.sep_bottleneck.1.pointwise_conv.bn, stride
#     4; 512 channels in R101, 128 in R18), L2-normalised along H per column
#     (the reference's F.normalize quirk), MSE mean, loss_weight 100;
#   * pair-wise: SKD's loss on the ASPP output before its ReLU
#     (decode_head.bottleneck.bn), pool_scale 0.5 (45x45 -> 3x3 graph),
#     detached-norm cosine, loss_weight 1.
# Differences from the paper: mmseg's d8 models (output stride 8, not 16;
# the ASPP projection is a 3x3 conv, not 1x1) and a clean teacher (eval
# mode, no grad), where the reference ran its teacher in train mode.
# Published (PASCAL VOC 2012 val, mean of 3 seeds): teacher 74.78; R18
# 66.59 -> 69.21 mIoU with both terms (69.04 pixel-wise only, 68.47
# pair-wise only).
# Train the teacher first with
#   distillation_configs/baselines/deeplabv3plus_r101-d8_4xb2-40k_camvid-360x360.py
# and put its checkpoint at the path below (or pass
# --cfg-options model.teacher.checkpoint=PATH).
_base_ = [
    '../_base_/distill/prerelu_pixel_pair.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/../baselines/'
        'deeplabv3plus_r101-d8_4xb2-40k_camvid-360x360.py',
        checkpoint='checkpoints/camvid/'
        'deeplabv3plus_r101-d8_4xb2-40k_camvid.pth'),
    student=dict(
        config='{{fileDirname}}/../baselines/'
        'deeplabv3plus_r18-d8_4xb2-40k_camvid-360x360.py'),
    distill=_base_.distill)
