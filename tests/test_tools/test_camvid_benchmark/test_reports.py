# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.reports: the tables compute what they say."""

from camvid_benchmark.reports import (calibration_document, calibration_table,
                                      diagnostics_table, in_training_table,
                                      table, tuning_table)

from .helpers import finish_tuning, lr_chosen


def test_table_mean_std_and_gap():

    def rec(method, seed, test, val=50.0, **kw):
        return dict(
            method=method,
            seed=seed,
            stage='final',
            test_mIoU=test,
            val_mIoU=val,
            **kw)

    records = {
        'a':
        rec('baseline', 0, 40.0, lr=0.05),
        'b':
        rec('baseline', 1, 41.0, lr=0.05),
        'c':
        rec('baseline', 2, 42.0, lr=0.05),
        'd':
        rec('kd', 0, 45.0, multiple=0.3),
        'e':
        rec('kd', 1, 46.0, multiple=0.3),
        'f':
        rec('kd', 2, 47.0, multiple=0.3),
        'g':
        rec('at', 0, 41.0, multiple=1.0),
        'h':
        rec('at', 1, 41.5, multiple=1.0),
        'i':
        rec('at', 2, 42.5, multiple=1.0),
        # two of three seeds: shown, its clear gap not yet judged
        'j':
        rec('fitnet', 0, 50.0, multiple=1.0),
        'k':
        rec('fitnet', 1, 50.2, multiple=1.0),
        # below the student alone: the table says so
        'l':
        rec('cgd', 0, 39.0, multiple=0.3),
        'm':
        rec('cgd', 1, 40.0, multiple=0.3),
        'n':
        rec('cgd', 2, 41.0, multiple=0.3),
        'o':
        rec('dist', 0, 39.0, multiple=0.3),
        'teacher_teacher_s0':
        dict(
            method='teacher',
            seed=0,
            stage='teacher',
            test_mIoU=55.0,
            val_mIoU=60.0),
    }
    text = table(records)
    rows = {
        line.split('|')[1].strip(): line
        for line in text.splitlines() if line.startswith('|')
    }
    assert '41.00 +- 1.00' in rows['baseline']
    assert '46.00 +- 1.00' in rows['kd'] and '+5.00 (> 2 std)' in rows['kd']
    assert 'x0.3' in rows['kd'] and '45.00, 46.00, 47.00' in rows['kd']
    assert '+0.67' in rows['at'] and '> 2 std' not in rows['at']
    assert 'falls short' not in rows['at']
    fitnet = rows['fitnet (2 of 3 seeds)']
    assert '+9.10' in fitnet and '> 2 std' not in fitnet
    assert '-1.00 (falls short)' in rows['cgd']
    assert 'falls short' not in rows['dist (1 of 3 seeds)']  # not judged
    assert 'test mIoU 55.00' in text
    assert 'Superseded' not in text
    # kd's tuning has chosen other weights since, and its first seed has
    # been redone at them: the row never mixes the two settings
    records['d'] = rec('kd', 0, 48.0, multiple=dict(loss_kd=3.0))
    text = table(records, superseded=['e', 'f'])
    current, old = text.split('Superseded')
    assert '| kd (1 of 3 seeds) | kd x3 | 48.00 +- 0.00 | +7.00 |' in current
    assert '| kd (2 of 3 seeds) | x0.3 | 46.50 +- 0.71 | +5.50 |' in old
    assert '46.00, 47.00' not in current and '| baseline |' not in old


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


def test_diagnostics_table_spans_every_term_curve():
    """One row per term of every tuning and final run: first -> last
    (min .. max) of each diagnostic over the record's windows; a term
    without a diagnostic (a feature term has no agreement) leaves it
    blank, and runs of other stages or methods are left out."""
    curves = {
        'kd_ratio/loss_kd': {
            '2000': 0.5,
            '1000': 1.0,
            '3000': 0.25
        },
        'kd_cosine/loss_kd': {
            '1000': -0.2,
            '2000': 0.4
        },
        'kd_agreement/loss_kd': {
            '1000': 70.0,
            '2000': 80.0
        },
        'kd_grad_ratio/loss_fit': {
            '1000': 2.0
        },
        'decode.loss_ce': {
            '1000': 1.0
        },
    }
    records = {
        'a':
        dict(
            method='kd',
            stage='tune',
            multiple=3.0,
            seed=100,
            val_mIoU=50.0,
            train_curves=curves),
        'b':
        dict(method='kd', stage='final', seed=1, val_mIoU=51.0),
        'c':
        dict(method='baseline', stage='final', seed=0, val_mIoU=1.0),
        'e':
        dict(
            method='kd',
            stage='check',
            seed=0,
            val_mIoU=3.0,
            train_curves=curves),
        'd':
        dict(
            method='at',
            stage='tune',
            multiple=1.0,
            seed=100,
            val_mIoU=2.0,
            train_curves=curves),
    }
    text = diagnostics_table(['kd'], records)
    rows = [line for line in text.splitlines()[2:]]
    assert len(rows) == 2  # kd's two terms; no curves in its final
    kd = next(r for r in rows if '| loss_kd |' in r)
    assert kd.startswith('| kd | tune x3 | loss_kd | 1 -> 0.25 (0.25 .. 1) |')
    assert '| -0.2 -> 0.4 (-0.2 .. 0.4) | 70 -> 80 (70 .. 80) | 50.00 |' in kd
    fit = next(r for r in rows if '| loss_fit |' in r)
    assert fit == ('| kd | tune x3 | loss_fit |  | 2 -> 2 (2 .. 2) |  |  '
                   '| 50.00 |')
    assert '| at |' not in diagnostics_table(['kd', 'cwd_logits'], records)


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
