# The pre-ReLU pixel-/pair-wise row ("An Efficient Knowledge Distillation
# Architecture for Real-time Semantic Segmentation") of the CamVid CPU
# benchmark: ../../_base_/distill/prerelu_pixel_pair.py, whose tensors are
# DeepLabV3+'s (decoder and ASPP, pre-ReLU), moved to the protocol's PSPNets'
# pre-ReLU points: the PSP bottleneck's BN output for the pixel-wise term,
# and the sum before the last ReLU of the backbone (the input of the last
# block's ReLU at its second call) for the pair-wise graph.
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/prerelu_pixel_pair.py'
]
pre_relu = dict(
    decoder='decode_head.bottleneck.bn',
    aspp=dict(path='backbone.layer4.1.relu', side='input', call=1))
distill = _base_.distill
distill.student_tensors = pre_relu
distill.teacher_tensors = pre_relu
model = dict(distill=distill)
