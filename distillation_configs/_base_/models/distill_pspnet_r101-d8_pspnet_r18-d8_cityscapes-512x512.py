# Teacher PSPNet-R101-d8 and student PSPNet-R18-d8 of the Cityscapes
# distillation configs with the SKD/IFVD/CWD protocol (512x512 crops, use
# with ../datasets/cityscapes_512x512.py). Both are mmseg's own models:
# * teacher: mmseg's model-zoo PSPNet-R101-d8 (80k, 512x1024 crops),
#   79.76 mIoU on Cityscapes val, downloaded from the URL below (the papers'
#   own teacher: 78.56);
# * student: mmseg's PSPNet-R18-d8, its backbone initialised from ImageNet
#   (open-mmlab://resnet18_v1c) by init_weights, as the papers' student.
# mmseg's d8 ResNets (no ceil-mode max-pool) give 64x64 maps for a 512x512
# crop where the reference PSPNets give 65x65.
# A method config adds a method's `distill` section (../distill/), the
# dataset, runtime and schedule.
overrides = dict(data_preprocessor=dict(size=(512, 512)))
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/'
        'pspnet/pspnet_r101-d8_512x1024_80k_cityscapes/'
        'pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth',
        overrides=overrides),
    student=dict(
        config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
        overrides=overrides))
