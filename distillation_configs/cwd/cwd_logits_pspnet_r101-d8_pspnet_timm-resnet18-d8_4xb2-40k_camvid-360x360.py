# CWD on the logits (tau 4, loss_weight 3, as the official Cityscapes code),
# PSPNet-R101 -> PSPNet with a timm ResNet-18 backbone (mmseg's TIMMBackbone,
# output stride 8) on CamVid 360x360; everything but the student as
# ./cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py. Shows
# that any timm backbone works as a student: the recorded tensor is the PSP
# head's decode_head.conv_seg, as for mmseg's own ResNets.
# Student: ../baselines/pspnet_timm-resnet18-d8_4xb2-40k_camvid-360x360.py,
# with timm's pretrained=False (random init, nothing downloaded). For
# ImageNet weights add
#   --cfg-options model.student.overrides.backbone.pretrained=True
# (timm downloads resnet18.a1_in1k from the Hugging Face hub or reads the
# local cache) or model.student.overrides.backbone.checkpoint_path=PATH.
# Published: none for this student. CWD paper (Cityscapes val, PSPNet-R101
# 78.56 -> PSPNet-R18 69.10): 74.87 with CWD on logits.
# Teacher: checkpoints/camvid/pspnet_r101-d8_4xb2-40k_camvid.pth (train
# ../baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py first, or pass
# --cfg-options model.teacher.checkpoint=PATH).
_base_ = ['./cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py']
model = dict(
    student=dict(
        config='{{fileDirname}}/../baselines/'
        'pspnet_timm-resnet18-d8_4xb2-40k_camvid-360x360.py'))
