# PSPNet on a timm ResNet-18 backbone (mmseg's TIMMBackbone, timm's
# 'resnet18' with features_only=True and output_stride=8: dilated stages 3
# and 4, as mmseg's d8 ResNets), on CamVid, trained alone: the timm student
# of ../cwd/cwd_logits_pspnet_r101-d8_pspnet_timm-resnet18-d8_4xb2-40k_camvid-360x360.py
# and its no-distillation baseline. Heads, data and schedule as
# ./pspnet_r18-d8_4xb2-40k_camvid-360x360.py (the backbone's stage outputs
# have the same widths, 64/128/256/512; PSP head on stage 4, FCN auxiliary
# head on stage 3).
# Weights: pretrained=False, so the backbone starts from timm's random
# initialisation (nothing is downloaded, e.g. in the tests). For ImageNet
# weights set model.backbone.pretrained=True (timm downloads
# 'resnet18.a1_in1k' from the Hugging Face hub, or takes it from the local HF
# cache; HF_HUB_OFFLINE=1 for a cache-only run) or
# model.backbone.checkpoint_path='PATH/TO/resnet18.pth' for a local file, e.g.
#   --cfg-options model.student.overrides.backbone.pretrained=True
# on a distillation config (model.backbone.pretrained=True on this one).
# The stem differs from mmseg's ResNetV1c (one 7x7 conv instead of three
# 3x3) and mmseg's open-mmlab://resnet18_v1c weights do not fit it.
#   tools/dist_train.sh distillation_configs/baselines/pspnet_timm-resnet18-d8_4xb2-40k_camvid-360x360.py 4
_base_ = ['./pspnet_r18-d8_4xb2-40k_camvid-360x360.py']
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='resnet18',
        features_only=True,
        pretrained=False,
        output_stride=8,
        out_indices=(1, 2, 3, 4),
        # mmcv's 'SyncBN' (torch.nn.SyncBatchNorm), like mmseg's students;
        # runs as plain BN in a non-distributed run
        norm_layer='SyncBN'))
