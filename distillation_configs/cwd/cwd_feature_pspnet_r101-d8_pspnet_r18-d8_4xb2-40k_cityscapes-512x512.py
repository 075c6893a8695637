# CWD (Shu et al., ICCV 2021) on features, PSPNet-R101 -> PSPNet-R18 on
# Cityscapes, as the official code's feature runs (TorchDistiller
# SemSeg-distill, --cwd-feat True): channel-wise distribution of the PSP
# module output after dropout (the input of decode_head.conv_seg: 128
# channels in R18, 512 in R101), the student's mapped to 512 channels by a
# connector as the reference's (1x1 conv without bias, BN, ReLU), tau 3,
# loss_weight 40; no loss on the logits. The official feature runs used
# lambda 35-40 with tau 1-10 (released logs: 72.2-74.0 val; 40 / 3 gave
# 73.85); CIRKD's re-implementation uses 50 / 4 together with CWD on the
# logits (./cwd_feature_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py).
# Published (Cityscapes val, CWD paper Table 2, mean of 3 runs): PSPNet-R101
# 78.56 -> R18 69.10 -> 74.27 with CWD on features; which lambda/tau gave it
# is not documented.
# Teacher: mmseg's model-zoo PSPNet-R101-d8 (80k, 512x1024; 79.76 val),
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py).
# Differences: mmseg's teacher and 64x64 maps (65x65); the connector is in
# the student's optimizer and follows its poly schedule (the reference's
# stays at lr 0.01, its poly routine only updates the first param group);
# plain per-GPU BN in the connector (InPlaceABNSync in the reference).
#   tools/dist_train.sh distillation_configs/cwd/cwd_feature_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/datasets/cityscapes_512x512.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
feat = dict(path='decode_head.conv_seg', side='input')
model = dict(
    distill=dict(
        student_tensors=dict(feat=feat),
        teacher_tensors=dict(feat=feat),
        # channels (128 -> 512) filled in from the probed shapes
        connectors=dict(
            feat=dict(
                type='ChannelConnector', bias=False,
                act_cfg=dict(type='ReLU'))),
        losses=dict(
            loss_cwd_feat=dict(
                type='ChannelWiseDivergence',
                student='feat',
                teacher='feat',
                tau=3.0,
                loss_weight=40.0))))
