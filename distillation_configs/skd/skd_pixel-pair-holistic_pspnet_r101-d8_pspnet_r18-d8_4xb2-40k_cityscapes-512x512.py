# SKD (pixel-wise + pair-wise + holistic), PSPNet-R101 -> PSPNet-R18 on
# Cityscapes with the SKD protocol: 512x512 crops, batch 8 (4 GPUs x 2),
# 40k iterations, SGD lr 0.01, wd 5e-4, poly 0.9; lambda_pi 10,
# lambda_pa 0.5 (pool_scale 0.5 -> 3x3 graph on 65x65 maps), WGAN-GP
# lambda_d 0.1, lambda_gp 10, discriminator SGD 4e-4.
# Published (SKD README, Cityscapes val): 69.10 -> 71.78 (pixel + pair)
# -> 74.08 (all three); the teacher here is mmseg's model-zoo PSPNet-R101
# (79.76 val) instead of SKD's (78.56). The student starts from ImageNet
# weights (open-mmlab://resnet18_v1c).
#   tools/dist_train.sh distillation_configs/skd/skd_pixel-pair-holistic_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py', '../_base_/distill_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
overrides = dict(data_preprocessor=dict(size=crop_size))
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
        overrides=overrides),
    distill=dict(
        student_tensors=dict(
            logits='decode_head.conv_seg', feat='decode_head.bottleneck'),
        teacher_tensors=dict(
            logits='decode_head.conv_seg', feat='decode_head.bottleneck'),
        losses=dict(
            loss_skd_pixel=dict(
                type='SKDPixelWiseLoss', student='logits', teacher='logits',
                reduction='batch_sum', loss_weight=10.0),
            loss_skd_pair=dict(
                type='SKDPairWiseLoss', student='feat', teacher='feat',
                pool_scale=0.5, detach_norm=True, loss_weight=0.5),
            loss_skd_adv=dict(
                type='SKDAdversarialLoss', student='logits', teacher='logits',
                discriminator=dict(type='SAGANDiscriminator',
                                   preprocess='bn'),
                gan_type='wgan-gp', loss_weight=0.1, d_loss_weight=0.1,
                gp_weight=10.0))))
optim_wrapper = dict(
    _delete_=True,
    constructor='DistillationOptimWrapperConstructor',
    student=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=4e-4, momentum=0.9,
                       weight_decay=5e-4)))
param_scheduler = dict(
    _delete_=True,
    student=[
        dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40000,
             by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000,
             by_epoch=False)
    ])
