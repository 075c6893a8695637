# IFVD's full objective (YukangWang/IFVD):
#   CE + 0.4 CE_aux + 200 IFV + 10 KD + 0.001 adversarial (+ the D step)
# the IFV and KD terms of ./ifvd.py plus SKD's holistic term as the IFVD
# repo uses it: SAGAN discriminator on the raw logits (BatchNorm
# preprocessing), WGAN-GP, student term 0.001, discriminator loss 0.1,
# gradient penalty 10; one D step per student step.
# The repo's discriminator optimizer, Adam lr 4e-4, betas (0.9, 0.99),
# poly-decayed like the student, is set by the config on top of
# ../schedules/schedule_40k_adversarial.py (mmengine refuses two bases that
# both define optim_wrapper):
#   optim_wrapper = dict(discriminator=dict(optimizer=dict(
#       _delete_=True, type='Adam', lr=4e-4, betas=(0.9, 0.99))))
# IFVDLoss needs the dataset's class count (see ./ifvd.py).
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./ifvd.py']
distill = dict(
    losses=dict(
        loss_adv=dict(
            type='SKDAdversarialLoss',
            student='logits',
            teacher='logits',
            discriminator=dict(type='SAGANDiscriminator', preprocess='bn'),
            gan_type='wgan-gp',
            loss_weight=0.001,
            d_loss_weight=0.1,
            gp_weight=10.0)))
