# The CIRKD row of the CamVid CPU benchmark: ../../_base_/distill/cirkd.py
# (KD, mini-batch pixel relations and the pixel/region memory), CamVid's 11
# classes. The shipped CamVid config distils DeepLabV3; here the protocol's
# PSPNets (the same tensor: the input of decode_head.conv_seg).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/cirkd.py'
]
distill = _base_.distill
distill.losses.loss_memory.num_classes = 11
model = dict(distill=distill)
