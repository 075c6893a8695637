# Teacher PSPNet-R101-d8 and student PSPNet-R18-d8 of the CamVid distillation
# configs (both from distillation_configs/baselines/). A method config adds
# a method's `distill` section (../distill/) and the dataset, runtime and
# schedule bases.
# Train the teacher first with
#   tools/dist_train.sh distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py 4
# and put its checkpoint at the path below (or pass
# --cfg-options model.teacher.checkpoint=PATH).
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/../../baselines/'
        'pspnet_r101-d8_4xb2-40k_camvid-360x360.py',
        checkpoint='checkpoints/camvid/pspnet_r101-d8_4xb2-40k_camvid.pth'),
    student=dict(
        config='{{fileDirname}}/../../baselines/'
        'pspnet_r18-d8_4xb2-40k_camvid-360x360.py'))
