# The cwd_logits row of the CamVid CPU benchmark: ../../_base_/distill/cwd_logits.py under
# the protocol (../../_base_/protocols/camvid_cpu_distill.py).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/cwd_logits.py'
]
model = dict(distill=_base_.distill)
