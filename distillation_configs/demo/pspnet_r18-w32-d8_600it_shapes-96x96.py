# Demo teacher: PSPNet, ResNet-18 at width 32, from scratch.
_base_ = [
    '../_base_/models/pspnet_r18-d8_shapes.py',
    '../_base_/datasets/synthetic_shapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo.py'
]
randomness = dict(seed=0)
