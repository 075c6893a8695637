# Teacher DeepLabV3-R101-d8 and student DeepLabV3-R18-d8 on Cityscapes
# (512x1024 crops, mmseg's Cityscapes base), both mmseg's own models:
# * teacher: mmseg's model-zoo DeepLabV3-R101-d8 (80k, 512x1024), 80.20 mIoU
#   on Cityscapes val, downloaded from the URL below (the teacher of CIRKD and
#   DIST, trained in CIRKD's code base, has 78.07);
# * student: mmseg's DeepLabV3-R18-d8 (ImageNet-initialised backbone,
#   open-mmlab://resnet18_v1c). Other students: override model.student.config
#   (e.g. 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py').
# A method config adds a method's `distill` section (../distill/), the
# dataset, runtime and schedule.
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='mmseg::deeplabv3/'
        'deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/'
        'deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/'
        'deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-'
        '9e428899.pth'),
    student=dict(
        config='mmseg::deeplabv3/'
        'deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py'))
