# The student of the CamVid CPU benchmark, trained alone: PSPNet on a
# dilated ResNet-18 (output stride 8) at width 8 (base channels 8, 0.18 M
# parameters), 11 classes, from scratch, under ../../_base_/protocols/
# camvid_cpu.py. Every distillation row of the table trains this model.
_base_ = [
    '../../_base_/protocols/camvid_cpu.py',
    '../../_base_/models/pspnet_r18-d8_shapes.py'
]
norm_cfg = dict(type='BN', requires_grad=True)  # one process, one device
width = 8
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(
        stem_channels=width, base_channels=width, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=8 * width,
        channels=2 * width,
        num_classes=11,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=4 * width,
        channels=width,
        num_classes=11,
        norm_cfg=norm_cfg))
