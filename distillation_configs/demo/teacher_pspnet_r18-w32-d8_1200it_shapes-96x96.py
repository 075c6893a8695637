# Demo teacher: PSPNet, ResNet-18 at width 32, from scratch, 1200 iterations
# (twice the students' 600) on the generated shapes; tools/demo.py (make
# demo) trains it with --teacher-iters (default: these 1200).
_base_ = [
    '../_base_/models/pspnet_r18-d8_shapes.py',
    '../_base_/datasets/synthetic_shapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo.py'
]
randomness = dict(seed=0)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=1200,
         by_epoch=False)
]
train_cfg = dict(max_iters=1200, val_interval=1200)
default_hooks = dict(checkpoint=dict(interval=1200))
