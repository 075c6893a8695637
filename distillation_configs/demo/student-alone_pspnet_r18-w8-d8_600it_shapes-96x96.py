# Demo student without distillation: PSPNet, ResNet-18 at width 8; data,
# schedule (600 iterations) and seed as the teacher's.
_base_ = ['./teacher_pspnet_r18-w32-d8_600it_shapes-96x96.py']
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
