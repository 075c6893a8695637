# The kd_logit_standardization row of the CamVid CPU benchmark: ../../_base_/distill/kd_logit_standardization.py under
# the protocol (../../_base_/protocols/camvid_cpu_distill.py).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/kd_logit_standardization.py'
]
model = dict(distill=_base_.distill)
