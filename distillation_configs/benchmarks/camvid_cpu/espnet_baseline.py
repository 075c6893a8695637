# SKD's own CamVid experiment (ESPNet student, trained from scratch), under
# the CPU protocol (../../_base_/protocols/camvid_cpu.py): ESPNet (ESPNet-C
# encoder and its decoder, 0.35 M parameters with 11 classes; mmseg_kd's
# ESPNetC / ESPNetHead) trained alone, with the ESPNet paper's optimizer
# (Adam, lr 5e-4, weight decay 5e-4; poly decay) rather than the PSPNet
# rows' SGD: the ESPNet rows compare ESPNet with and without distillation.
# Same data, crops and schedule as the PSPNet rows, so that the PSPNet
# teacher (trained at that scale) applies unchanged.
_base_ = [
    '../../_base_/protocols/camvid_cpu.py',
    '../../_base_/models/espnet_camvid.py'
]
norm_cfg = dict(type='BN', requires_grad=True)  # one process, one device
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg))
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
