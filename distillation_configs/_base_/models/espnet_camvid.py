# ESPNet (Mehta et al., ECCV 2018): the ESPNet-C encoder (alpha2=2, alpha3=8,
# K=5) with its decoder, mmseg_kd's ESPNetC / ESPNetHead, for CamVid's 11
# classes (0.35 M parameters; 0.36 M with Cityscapes' 19).
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    pretrained=None,
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
