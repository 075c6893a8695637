# FitNets (Romero et al., ICLR 2015) as CIRKD re-implements it for
# segmentation (winycg/CIRKD losses/fitnet.py, train_scripts/train_kd):
# MSE (mean over all elements) between the student's head feature, mapped to
# the teacher's channels by a bare 1x1 conv without bias (the regressor,
# trained with the student), and the teacher's, loss_weight = 10; plus
# pixel-wise KD on the logits with weight 1, as every CIRKD baseline.
# Here on PSPNet-R101 -> PSPNet-R18, CamVid 360x360: the head feature is the
# PSP module output, decode_head.bottleneck (512 channels in R101, 128 in
# R18, stride 8). CIRKD's CamVid baseline student (no KD): 66.73 mIoU.
# Expected teacher checkpoint: checkpoints/camvid/pspnet_r101-d8_4xb2-40k_camvid.pth
# (train distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py).
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/datasets/camvid.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
model = dict(
    distill=dict(
        student_tensors=dict(
            logits='decode_head.conv_seg', feat='decode_head.bottleneck'),
        teacher_tensors=dict(
            logits='decode_head.conv_seg', feat='decode_head.bottleneck'),
        # FitNet's regressor: 1x1 conv, no norm, no bias (channels filled in
        # from the probed shapes: 128 -> 512)
        connectors=dict(
            feat=dict(type='ChannelConnector', norm_cfg=None, bias=False)),
        losses=dict(
            loss_kd=dict(
                type='KDLoss', student='logits', teacher='logits',
                loss_weight=1.0),
            loss_fitnet=dict(
                type='FitNetLoss',
                student='feat',
                teacher='feat',
                loss_weight=10.0))))
