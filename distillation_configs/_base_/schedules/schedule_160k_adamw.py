# 160k iterations with the AdamW recipe of mmseg's SegFormer configs (also
# SegDistill's): lr 6e-5, betas (0.9, 0.999), weight decay 0.01 (none on
# norm and pos_block parameters), head lr x10, linear warm-up over 1500
# iterations then poly decay (power 1) to 0. Batch 16 = 8 GPUs x 2 images
# (set train_dataloader.batch_size=2 in the config). Students with another
# recipe override optim_wrapper.paramwise_cfg (e.g. Swin's).
# For DistillationSegmentor models only: DistillationOptimWrapperConstructor
# gives the optimizer the student and the distiller's trainable parts (never
# the teacher), named 'student.decode_head.conv_seg.weight', ..., so the
# custom keys match as in the student's own config.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
optim_wrapper = dict(
    _delete_=True,
    constructor='DistillationOptimWrapperConstructor',
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'head': dict(lr_mult=10.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False)
]
