# The kd_logit_standardization_calibrated row of the CamVid CPU benchmark:
# KD with logit standardisation (./kd_logit_standardization.py) with its
# loss weight set in training instead of a grid tuned on val: the weight
# makes the term's gradient norm on the student 3 times the task loss's
# (on='grad'), KD's tuned gradient strength (g = 3.0 in
# docs/benchmarks/camvid_calibration.md), set from iterations 1000 - 1009
# (Start: the term is off before iteration 1000). Why: z-scoring divides
# the student's logits by their spread, which is tiny at initialisation,
# so at the published weight the term's gradient is about 12 times the
# task's over the first 1000 iterations and 0.15 - 0.3 times it from there
# to the end; the grid's calibration, read over the first 1000 iterations,
# chose x0.3, which leaves the term at 0.04 - 0.10 of the task's gradient
# for the rest of the run (docs/benchmarks/camvid_diagnostics.md). Its one
# tuning run is this config as it is; it is compared with the
# kd_logit_standardization row (docs/benchmarks.md).
_base_ = ['./kd_logit_standardization.py']
model = dict(
    distill=dict(
        losses=dict(
            loss_kd=dict(
                # _delete_: it replaces the published number
                loss_weight=dict(
                    _delete_=True,
                    type='Calibrated',
                    ratio=3.0,
                    on='grad',
                    steps=10),
                weight_schedule=[dict(type='Start', at=1000)]))))
