# SKD's own CamVid experiment (ESPNet student, trained from scratch), under
# the CPU protocol (../../_base_/protocols/camvid_cpu.py): ESPNet (ESPNet-C
# encoder and its decoder, 0.35 M parameters with 11 classes; mmseg_kd's
# ESPNetC / ESPNetHead) trained alone, with the ESPNet paper's optimizer
# (Adam, lr 5e-4, weight decay 5e-4; poly decay) rather than the PSPNet
# rows' SGD: the ESPNet rows compare ESPNet with and without distillation.
# Same data, crops and schedule as the PSPNet rows, so that the PSPNet
# teacher (trained at that scale) applies unchanged.
_base_ = ['../../_base_/protocols/camvid_cpu.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(128, 128)),
    backbone=dict(
        type='ESPNetC',
        in_channels=3,
        stem_channels=16,
        channels=(64, 128),
        num_blocks=(2, 8),
        num_branches=5,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='ESPNetHead',
        in_channels=(19, 131, 256),
        in_index=(0, 1, 2),
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        _delete_=True,
        type='Adam',
        lr=5e-4,
        betas=(0.9, 0.999),
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
