# SKD (pixel-wise + pair-wise) into the ESPNet student of ./espnet_baseline.py
# (SKD's CamVid experiment: ESPNet 57.8 -> 61.4 mIoU at 480x360 with the
# CVPR'19 code), the protocol's PSPNet teacher (width 32).
# * pixel-wise: the teacher's 1/8 logits resized (bilinear, a parameter-free
#   teacher connector) to the ESPNet head's full-resolution logits, at the
#   reference's per-image strength (batch-summed, weight 10 for 2 images per
#   GPU, rescaled to the protocol's 8: on_batch_change='rescale');
# * pair-wise: the 3x3 graph of the ESPNet-C encoder's last level (256
#   channels at 1/8) against the teacher's PSP feature (1/8).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/skd_pixel_pair.py'
]
distill = _base_.distill
distill.student_tensors = dict(
    logits='decode_head.conv_seg', feat=dict(path='backbone', index=2))
distill.teacher_connectors = dict(logits=dict(type='ResizeConnector'))
distill.losses.loss_skd_pixel.on_batch_change = 'rescale'
model = dict(
    student=dict(config='{{fileDirname}}/espnet_baseline.py'),
    distill=distill)
optim_wrapper = dict(
    _delete_=True,
    constructor='DistillationOptimWrapperConstructor',
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999),
                   weight_decay=5e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=5e-6,
        power=0.9,
        begin=0,
        end=_base_.max_iters,
        by_epoch=False)
]
