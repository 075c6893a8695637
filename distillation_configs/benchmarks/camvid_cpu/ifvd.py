# The IFVD row of the CamVid CPU benchmark: ../../_base_/distill/ifvd.py
# (IFV on the PSP feature after dropout, plus KD), CamVid's 11 classes.
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/ifvd.py'
]
distill = _base_.distill
distill.losses.loss_ifv.num_classes = 11
model = dict(distill=distill)
