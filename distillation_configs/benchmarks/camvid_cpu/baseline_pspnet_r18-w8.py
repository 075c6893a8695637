# The student of the CamVid CPU benchmark, trained alone: PSPNet on a
# dilated ResNet-18 (output stride 8) at width 8 (base channels 8, 0.18 M
# parameters), 11 classes, from scratch, under ../../_base_/protocols/
# camvid_cpu.py. Every distillation row of the table trains this model.
_base_ = ['../../_base_/protocols/camvid_cpu.py']
norm_cfg = dict(type='BN', requires_grad=True)
width = 8
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
        type='ResNetV1c',
        depth=18,
        stem_channels=width,
        base_channels=width,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='PSPHead',
        in_channels=8 * width,
        in_index=3,
        channels=2 * width,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=4 * width,
        in_index=2,
        channels=width,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
