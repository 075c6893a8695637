# The dist_calibrated row of the CamVid CPU benchmark: DIST (./dist.py) with
# loss weights that set themselves in training instead of a grid tuned on
# val: each term's weight makes its gradient norm on the student 1.5 times
# the task loss's (on='grad'), the per-term rule of the benchmark's grids
# (KD's tuned gradient strength, g = 3.0 in
# docs/benchmarks/camvid_calibration.md, shared equally by DIST's two terms),
# set from iterations 1000 - 1009, after the start-up spike of the
# auxiliary term (Start: both terms are off before iteration 1000). Its
# one tuning run is this config as it is; it is compared with the dist row
# (docs/benchmarks.md).
_base_ = ['./dist.py']
# one setting for both terms (_delete_: it replaces dist.py's number)
_calibrated = dict(
    loss_weight=dict(
        _delete_=True, type='Calibrated', ratio=1.5, on='grad', steps=10),
    weight_schedule=[dict(type='Start', at=1000)])
model = dict(
    distill=dict(
        losses=dict(loss_dist=_calibrated, loss_dist_aux=_calibrated)))
