# The SKD pixel-wise + pair-wise row of the CamVid CPU benchmark:
# ../../_base_/distill/skd_pixel_pair.py. Its pixel-wise term is summed over
# the batch and its weight (10) was set for 2 images per GPU; the protocol
# has 8, so the term keeps the reference's per-image strength
# (on_batch_change='rescale': weight x 2/8, logged as kd_factor).
_base_ = [
    '../../_base_/protocols/camvid_cpu_distill.py',
    '../../_base_/distill/skd_pixel_pair.py'
]
distill = _base_.distill
distill.losses.loss_skd_pixel.on_batch_change = 'rescale'
model = dict(distill=distill)
