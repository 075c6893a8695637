# DIST, DeepLabV3-R101 -> DeepLabV3-MobileNetV2 (mmseg's
# mobilenet-v2-d8_deeplabv3, output stride 8, ImageNet-initialised from
# mmcls://mobilenet_v2) on Cityscapes; everything else as
# ./dist_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py
# (CIRKD/DIST protocol: 512x1024, 8 GPUs x 2, 40k, SGD lr 0.02, wd 5e-4;
# DIST on the main logits, 1, and the auxiliary logits, 0.4).
# The auxiliary term: mmseg's MobileNetV2 student has an FCN auxiliary head
# (on the 96-channel stage, stride 8, CE 0.4) and it is distilled like the
# ResNet students'; the reference's MobileNetV2 student had no auxiliary
# head, so its DIST term was on the main logits only (drop loss_dist_aux and
# the aux_logits tensors for that).
# Published: no DIST number for this student (DIST's table comparing it is
# UNVERIFIED); CIRKD's baseline in the same code base: DeepLabV3-MobileNetV2
# 73.12 (Cityscapes val, teacher 78.07); mmseg's model zoo: 73.84 (80k).
# Teacher: mmseg's model-zoo DeepLabV3-R101-d8 (80k, 512x1024; 80.20 val),
# deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth,
# downloaded from download.openmmlab.com.
#   tools/dist_train.sh distillation_configs/dist/dist_deeplabv3_r101-d8_mobilenet-v2-d8_deeplabv3_8xb2-40k_cityscapes-512x1024.py 8
_base_ = ['./dist_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py']
model = dict(
    student=dict(
        config='mmseg::mobilenet_v2/'
        'mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py'))
