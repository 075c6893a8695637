# The CWD-on-features row of the CamVid CPU benchmark: CWD on the logits and,
# through a ChannelConnector, on the PSP head's output (CIRKD's setting, as
# the shipped CamVid config): ../../_base_/distill/cwd_logits_feature.py.
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/cwd_logits_feature.py'
]
model = dict(distill=_base_.distill)
