# The SKD row with all three terms (pixel-wise, pair-wise, holistic
# adversarial) of the CamVid CPU benchmark:
# ../../_base_/distill/skd_pixel_pair_holistic.py, the pixel-wise term at
# the reference's per-image strength (see ./skd_pixel_pair.py), and the
# critic's own optimizer as SKD master's (SGD 4e-4, momentum 0.9, wd 5e-4,
# the student's poly decay).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/skd_pixel_pair_holistic.py'
]
distill = _base_.distill
distill.losses.loss_skd_pixel.on_batch_change = 'rescale'
model = dict(distill=distill)
optim_wrapper = dict(
    _delete_=True,
    constructor='DistillationOptimWrapperConstructor',
    student=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=4e-4, momentum=0.9,
                       weight_decay=5e-4)))
param_scheduler = dict(
    _delete_=True,
    student=[
        dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
             end=_base_.max_iters, by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0,
             end=_base_.max_iters, by_epoch=False)
    ])
