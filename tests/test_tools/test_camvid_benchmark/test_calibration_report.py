# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.calibration_report: calibrated weights against tuned
ones, offline and set in training."""

from camvid_benchmark.calibration_report import (calibration_document,
                                                 calibration_table,
                                                 in_training_table)
from camvid_benchmark.reports import diagnostics_table, table, tuning_table

from .helpers import finish_tuning, lr_chosen


def test_calibration_table_from_the_tuning_records():
    """The ratios come from the first window of the tuning runs' curves;
    the last columns are the multiples that KD's tuned ratios give."""
    assert 'no complete grid' in calibration_table(['kd'], {})
    records = lr_chosen()
    tuned = dict(kd=0.3, dist=3.0)
    finish_tuning(['kd', 'dist'], records, lambda method, m: 50.0 +
                  (m == tuned[method]), dict(kd=1.0, dist=0.1), dict(dist=5.0))
    text = calibration_table(['dist', 'cwd_logits'], records)
    assert '| kd |' not in text  # the reference is found all the same
    text = calibration_table(['kd', 'dist', 'cwd_logits'], records)
    # kd tuned at 0.3: value ratio 0.15, gradient strength 0.3
    assert 'r = 0.15, gradient strength g = 0.3.' in text
    kd = next(line for line in text.splitlines() if line.startswith('| kd'))
    assert '| 0.1, 0.3, 1, 3 | x0.3 |' in kd and '0.5 -> 0.15' in kd
    assert 'loss_kd 1 |' in kd and 'loss_kd 0.3 |' in kd  # grad ratios
    assert kd.endswith('| x0.3 | x0.3 |')
    # the helper's records hold 9 after their first window
    assert '| 0.3 -> 9 |' in kd
    dist = next(line for line in text.splitlines()
                if line.startswith('| dist'))
    # dist's published strength 0.1 -> x3 exactly; its grid is (1, 3);
    # its value ratio at x1 is 0.5: r = 0.15 would give x0.3
    assert '| 1, 3 | x3 | 51.00 / 50.00 | 0.5 -> 1.5 |' in dist
    assert dist.endswith('| x0.3 | x3 |')
    assert 'cwd_logits' not in text  # its tuning is not complete
    # a tuned run whose pull fades after the first 1000 iterations
    for curve in records['tune_kd_w0.3_s100']['train_curves'].values():
        curve.update({'2000': 0.01, '3000': 0.03})
    kd = next(
        line for line in calibration_table(['kd'], records).splitlines()
        if line.startswith('| kd'))
    assert '| 0.3 -> 0.02 (fades) |' in kd


def test_weights_set_in_training_are_reported_beside_the_grid():
    """A row whose weights its config sets in training: per term of its
    tuning run, its setting and the weight it set (the last window of its
    kd_weight curve) as a multiple of the published one, its val mIoU, the
    best and the published val of the grid of the row it is compared with
    and the student alone's best; the tables label its weights "set in
    training"; the calibration document holds both tables."""
    records = lr_chosen()
    finish_tuning(['kd', 'dist'], records, lambda method, m: 50.0 + (m != 1.0),
                  dict(kd=1.0, dist=0.1))
    methods = ['kd', 'dist', 'dist_calibrated']
    assert 'No run with weights' in in_training_table(methods, records)
    setting = dict(type='Calibrated', ratio=1.5, on='grad', steps=10)
    tuned = dict(
        method='dist_calibrated',
        stage='tune',
        seed=100,
        multiple=1.0,
        val_mIoU=52.5,
        published_weights=dict(loss_dist=1.0, loss_dist_aux=0.4),
        loss_weights=dict(loss_dist=setting, loss_dist_aux=setting),
        train_curves={
            'kd_weight/loss_dist': {
                '2000': 7.0,
                '8000': 8.0
            },
            'kd_grad_ratio/loss_dist': {
                '1000': 0.0,
                '2000': 1.5,
                '8000': 2.5
            },
        })
    records['tune_dist_calibrated_w1_s100'] = tuned
    text = in_training_table(methods, records)
    rows = text.splitlines()[2:]
    assert rows[0] == (
        '| tune_dist_calibrated_w1_s100 | loss_dist | Calibrated(ratio=1.5, '
        'on=grad, steps=10) | 8 (x8) | 1.5 .. 2.5 | 52.50 | 51.00 / 50.00 '
        '(x3) | 50.00 |')  # the gradient from iteration 2000, when set
    # a weight not logged (never calibrated) says so
    assert '| loss_dist_aux | Calibrated(' in rows[1] and 'not set' in rows[1]
    assert '| not set | n/a |' in rows[1]
    assert in_training_table(['kd', 'dist'], records).startswith('No run')
    assert ('| dist_calibrated | tune set in training | loss_dist |  | '
            '0 -> 2.5 (0 .. 2.5) |') in diagnostics_table(methods, records)
    assert '| dist_calibrated | set in training | 52.50 |' in tuning_table(
        {'tune_dist_calibrated_w1_s100': tuned})
    finals = {
        f'final_dist_calibrated_s{seed}':
        dict(tuned, stage='final', seed=seed, test_mIoU=test)
        for seed, test in enumerate((47.0, 48.0, 49.0))
    }
    assert '| dist_calibrated | set in training | 48.00 +- 1.00 |' in table(
        finals)
    document = calibration_document(methods, records)
    assert document.startswith(calibration_table(methods, records))
    assert document.endswith(text)
