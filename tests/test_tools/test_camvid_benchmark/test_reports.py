# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.reports: the tables compute what they say."""

from camvid_benchmark.reports import (class_gains, diagnostics_table,
                                      finals_by_method, table)


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


def test_class_gains_per_class_over_the_seeds():
    """Each row's per-class test IoU (mean over its seeds) minus its
    student alone's, with the val and test mIoU gains; ESPNet's rows
    against the ESPNet student; a row without its student alone left
    out."""

    def rec(method, seed, val, test, road, car):
        return dict(
            method=method,
            seed=seed,
            stage='final',
            val_mIoU=val,
            test_mIoU=test,
            test_per_class_IoU=dict(Road=road, Car=car))

    records = {
        'b0': rec('baseline', 0, 50.0, 40.0, 80.0, 10.0),
        'b1': rec('baseline', 1, 52.0, 42.0, 82.0, 20.0),
        'k0': rec('kd', 0, 51.0, 44.0, 81.0, 30.0),
        'k1': rec('kd', 1, 52.0, 45.0, 80.0, 31.0),
        'e0': rec('espnet_skd_pixel_pair', 0, 40.0, 30.0, 70.0, 5.0),
    }
    text = class_gains(finals_by_method(records))
    lines = text.splitlines()
    assert lines[0] == '| method | val mIoU | test mIoU | Road | Car |'
    assert lines[1] == '|---|---|---|---|---|'
    # kd: val 51.5 - 51, test 44.5 - 41, Road 80.5 - 81, Car 30.5 - 15
    assert lines[2] == '| kd (2 of 3 seeds) | +0.5 | +3.5 | -0.5 | +15.5 |'
    assert len(lines) == 3  # no ESPNet student alone to compare with
    records['eb0'] = rec('espnet_baseline', 0, 41.0, 29.0, 71.0, 2.0)
    lines = class_gains(finals_by_method(records)).splitlines()
    assert lines[3] == ('| espnet_skd_pixel_pair (1 of 3 seeds) | -1.0 | '
                        '+1.0 | -1.0 | +3.0 |')
    assert class_gains(finals_by_method({'b0': records['b0']})) == ''
