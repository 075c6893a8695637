# SKD, all three terms: pixel-wise (10) + pair-wise (0.5)
# (./skd_pixel_pair.py) + holistic adversarial distillation, with the
# settings of the SKD master script: WGAN-GP, student term lambda_d = 0.1,
# discriminator loss 0.1, gradient penalty 10, a SAGAN discriminator (base
# width 64) on the raw logits with BatchNorm preprocessing. One
# discriminator step per student step.
# The discriminator's optimizer and schedule (SGD lr 4e-4, momentum 0.9,
# wd 5e-4, the student's poly decay) are in
# ../schedules/schedule_40k_adversarial.py, which configs with this term
# use (mmengine refuses two bases that both define optim_wrapper).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./skd_pixel_pair.py']
distill = dict(
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
            gp_weight=10.0)))
