# Demo teacher: PSPNet, ResNet-18 at width 32, from scratch, 600 iterations
# on the generated shapes (../_base_/schedules/schedule_demo.py).
# tools/demo.py (make demo) trains it for 1200 iterations instead
# (--teacher-iters) and the students for 600 (--iters).
_base_ = [
    '../_base_/models/pspnet_r18-d8_shapes.py',
    '../_base_/datasets/synthetic_shapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo.py'
]
randomness = dict(seed=0)
