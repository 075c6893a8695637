# The mgd row of the CamVid CPU benchmark: ../../_base_/distill/mgd.py under
# the protocol (../../_base_/protocols/camvid_cpu_distill.py).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/mgd.py'
]
model = dict(distill=_base_.distill)
