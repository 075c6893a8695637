# The dsd row of the CamVid CPU benchmark: ../../_base_/distill/dsd.py under
# the protocol (../../_base_/protocols/camvid_cpu_distill.py).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/dsd.py'
]
model = dict(distill=_base_.distill)
