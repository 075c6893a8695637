# 40k iterations for configs with an adversarial (SKD holistic) term: the
# student's SGD (lr 0.01, momentum 0.9, wd 5e-4, poly 0.9) and the
# discriminator's own optimizer and schedule, as SKD master does (SGD 4e-4,
# momentum 0.9, wd 5e-4, the same poly decay). IFVD/CIRKD use Adam 4e-4
# (0.9, 0.99) for the discriminator: override optim_wrapper.discriminator.
# Used with ../distill/skd_pixel_pair_holistic.py and
# ../distill/ifvd_adversarial.py.
_base_ = ['./schedule_40k.py']
optim_wrapper = dict(
    _delete_=True,
    constructor='DistillationOptimWrapperConstructor',
    student=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='SGD', lr=4e-4, momentum=0.9, weight_decay=5e-4)))
param_scheduler = dict(
    _delete_=True,
    student=[
        dict(
            type='PolyLR',
            eta_min=1e-4,
            power=0.9,
            begin=0,
            end=40000,
            by_epoch=False)
    ],
    discriminator=[
        dict(
            type='PolyLR',
            eta_min=0.0,
            power=0.9,
            begin=0,
            end=40000,
            by_epoch=False)
    ])
