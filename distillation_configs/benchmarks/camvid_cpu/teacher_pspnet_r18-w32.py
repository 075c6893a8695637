# The teacher of the CamVid CPU benchmark: the student's architecture at
# width 32 (base channels 32, 2.9 M parameters, 16x the student's FLOPs),
# trained alone from scratch under the protocol, for longer. Its final
# checkpoint is the teacher of every distillation row
# (checkpoints/camvid_cpu/teacher_pspnet_r18-w32.pth, which the benchmark
# runner writes).
_base_ = ['./baseline_pspnet_r18-w8.py']
width = 32
max_iters = 16000
model = dict(
    backbone=dict(stem_channels=width, base_channels=width),
    decode_head=dict(in_channels=8 * width, channels=2 * width),
    auxiliary_head=dict(in_channels=4 * width, channels=width))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
