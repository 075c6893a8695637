# Demo student without distillation: PSPNet, ResNet-18 at width 8, from
# scratch, 600 iterations; data and seed as the teacher's.
_base_ = [
    '../_base_/models/pspnet_r18-d8_shapes.py',
    '../_base_/datasets/synthetic_shapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo.py'
]
randomness = dict(seed=0)
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
