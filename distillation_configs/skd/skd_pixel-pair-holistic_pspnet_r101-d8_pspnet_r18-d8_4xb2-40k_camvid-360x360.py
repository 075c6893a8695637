# SKD, all three terms: pixel-wise (10) + pair-wise (0.5) + holistic
# adversarial distillation, PSPNet-R101 -> PSPNet-R18 on CamVid, with the
# settings of the SKD master script: WGAN-GP, student term lambda_d = 0.1,
# discriminator loss 0.1, gradient penalty 10, BatchNorm preprocessing of
# the raw logits, discriminator SGD lr 4e-4 (momentum 0.9, wd 5e-4) with
# the same poly decay as the student. One discriminator step per student
# step. Published (Cityscapes val, SKD README): 69.10 -> 74.08 mIoU with all
# three terms; CamVid (CVPR'19 README, ESPNet): 57.8 -> 61.4.
_base_ = ['./skd_pixel-pair_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py']
model = dict(
    distill=dict(
        losses=dict(
            loss_skd_adv=dict(
                type='SKDAdversarialLoss',
                student='logits',
                teacher='logits',
                discriminator=dict(
                    type='SAGANDiscriminator', base_channels=64,
                    preprocess='bn'),
                gan_type='wgan-gp',
                loss_weight=0.1,
                d_loss_weight=0.1,
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
