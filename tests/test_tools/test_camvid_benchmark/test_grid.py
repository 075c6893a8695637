# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.grid: the multiples of the published weights each
method is tuned over (calibrated, per term) and the point chosen."""
import os.path as osp

import pytest
from camvid_benchmark.calibration_report import calibration_table
from camvid_benchmark.grid import (calibrated_multiple,
                                   later_gradient_strength, multiple_label,
                                   per_term_multiples, reference_strength,
                                   tuned_multiple, weight_grid, weight_options)
from camvid_benchmark.plan import final_runs, tune_runs
from camvid_benchmark.protocol import (CONFIGS, FULL_WEIGHT_GRID, LR_GRID,
                                       METHODS, published_weights)
from camvid_benchmark.reports import diagnostics_table, tuning_table

from .helpers import finish_tuning, lr_chosen


def test_weight_grid_scales_every_term():
    config = osp.join(CONFIGS, METHODS['skd_pixel_pair'])
    published = published_weights(config)
    assert published == {'loss_skd_pixel': 10.0, 'loss_skd_pair': 0.5}
    assert weight_options(config, 1.0) == {}
    assert weight_options(config, 0.3) == {
        'model.distill.losses.loss_skd_pixel.loss_weight': 3.0,
        'model.distill.losses.loss_skd_pair.loss_weight': 0.15
    }
    assert 1.0 in FULL_WEIGHT_GRID and 0.05 in LR_GRID


def test_second_grid_point_is_the_calibrated_multiple():
    """KD is tuned over the full grid; every other method over its
    published weights and the multiple that gives its gradient the
    strength KD has at its tuned weights, rounded to 1-3 steps, never 1."""
    assert calibrated_multiple(1.0, 0.25) == 0.3
    assert calibrated_multiple(1.0, 0.05) == 0.03  # nearer in log
    assert calibrated_multiple(2.0, 2.4) == 3.0  # 1.2: the neighbour
    assert calibrated_multiple(1.0, 0.8) == 0.3
    assert calibrated_multiple(1.0, 1e6) == 100.0  # the scale's ends
    assert calibrated_multiple(1.0, 1e-6) == 0.01
    records = lr_chosen()
    # nothing but the published run until KD's grid and it are done
    assert [
        r['multiple'] for r in tune_runs(['dist'], records)
        if r['stage'] == 'tune'
    ] == [1.0]
    assert weight_grid('dist', records) is None
    finish_tuning(['kd', 'dist'], records, lambda method, m: 50.0 + (m == 0.3),
                  dict(kd=2.0, dist=0.2))
    # kd tuned at 0.3: strength 0.6; dist's published strength 0.2 -> x3
    assert reference_strength(records) == pytest.approx(0.6)
    assert weight_grid('dist', records) == (1.0, 3.0)
    assert tuned_multiple('kd', records) == 0.3
    assert tuned_multiple('dist', records) == 1.0  # tied: published
    # a tie below 1 goes to the published weights too
    finish_tuning(['cgd'], records, lambda method, m: 50.0, dict(cgd=20.0))
    assert weight_grid('cgd', records) == (0.03, 1.0)
    assert tuned_multiple('cgd', records) == 1.0
    # a record without the gradient diagnostic: a warning naming the fix,
    # and the method's grid stays unknown (nothing else is held up)
    records['tune_dist_w1_s100']['train_curves'] = {}
    with pytest.warns(UserWarning, match='delete it and rerun'):
        assert weight_grid('dist', records) is None
    with pytest.warns(UserWarning):
        names = [r['name'] for r in tune_runs(['dist', 'cgd'], records)]
    assert 'tune_dist_w3_s100' not in names  # its second point: unknown
    assert 'tune_cgd_w0.03_s100' in names


def test_a_method_of_several_terms_has_a_per_term_point():
    """The one-multiple grid keeps the published balance between a
    method's terms; a method of several terms is also tuned at the point
    that gives each term an equal share of the reference's strength."""
    assert per_term_multiples(
        {
            'loss_a': 10.0,
            'loss_b': 0.01,
            'loss_c': 0.0  # measured no gradient: published weight
        },
        0.9) == dict(
            loss_a=0.03, loss_b=30.0, loss_c=1.0)
    records = lr_chosen()
    grads = dict(
        kd=2.0, skd_pixel_pair=dict(loss_skd_pixel=17.5, loss_skd_pair=0.15))
    finish_tuning(['kd', 'skd_pixel_pair'], records, lambda method, m: 50.0 +
                  (m == 0.3) + isinstance(m, dict), grads)
    # kd tuned at 0.3: strength 0.6, a share of 0.3
    # each: pixel 0.3 / 17.5 -> x0.01, pair 0.3 / 0.15 = 2 -> x3 (in log)
    terms = dict(loss_skd_pixel=0.01, loss_skd_pair=3.0)
    assert weight_grid('skd_pixel_pair', records) == (0.03, 1.0, terms)
    assert 'tune_skd_pixel_pair_wterms_s100' in records
    run = next(
        r for r in tune_runs(['skd_pixel_pair'], records)
        if r['name'] == 'tune_skd_pixel_pair_wterms_s100')
    assert run['multiple'] == terms
    assert {
        k: v
        for k, v in run['options'].items() if k.endswith('loss_weight')
    } == {
        'model.distill.losses.loss_skd_pixel.loss_weight': 0.1,
        'model.distill.losses.loss_skd_pair.loss_weight': 1.5
    }
    # it won on val: the finals use it, and every table names it per term
    assert tuned_multiple('skd_pixel_pair', records) == terms
    final = final_runs(['skd_pixel_pair'], records)[-1]
    assert final['multiple'] == terms
    assert final['options']['model.distill.losses.loss_skd_pair.'
                            'loss_weight'] == 1.5
    label = 'skd_pair x3, skd_pixel x0.01'
    assert multiple_label(terms) == label
    tunes = {k: v for k, v in records.items() if k.startswith('tune_skd')}
    assert f'| skd_pixel_pair | {label} | 51.00 |' in tuning_table(tunes)
    calibration = calibration_table(['skd_pixel_pair'], records)
    assert f'| 0.03, 1, per term ({label}) | {label} |' in calibration
    assert f'| tune {label} | loss_skd_pair |' in diagnostics_table(
        ['skd_pixel_pair'], records)
    # until it is run, the calibration row shows the best so far
    del records['tune_skd_pixel_pair_wterms_s100']
    calibration = calibration_table(['skd_pixel_pair'], records)
    assert '| x1 so far (per term to run) | 50.00 / 50.00 |' in calibration
    assert tuned_multiple('skd_pixel_pair', records) is None
    # a per-term point that does not name every term of the config
    with pytest.raises(ValueError, match='delete it and rerun'):
        weight_options(run['config'], dict(loss_skd_pixel=0.1))
    # a loss of several terms (CIRKD's memory loss, logged as
    # loss_memory_pixel and loss_memory_region) is one term of the point
    grads['cirkd'] = dict(
        loss_kd=1.0,
        loss_minibatch=0.5,
        loss_memory_pixel=0.1,
        loss_memory_region=0.1)
    finish_tuning(['cirkd'], records, lambda method, m: 50.0, grads)
    # a share of 0.2 each: kd 0.2 -> x0.3, minibatch 0.4 -> x0.3, memory 1
    assert weight_grid('cirkd', records)[-1] == dict(
        loss_kd=0.3, loss_minibatch=0.3, loss_memory=1.0)
    # a logged term that is none of the config's losses: no per-term point,
    # a warning naming the fix, the rest of the grid as it was
    records['tune_cirkd_w1_s100']['train_curves']['kd_grad_ratio/loss_x'] = {
        '1000': 1.0
    }
    with pytest.warns(UserWarning, match='none of the config'):
        grid = weight_grid('cirkd', records)
    assert all(not isinstance(m, dict) for m in grid) and 1.0 in grid
    # terms that all round to one multiple make a uniform point
    records = lr_chosen()
    grads['skd_pixel_pair'] = dict(loss_skd_pixel=0.3, loss_skd_pair=0.3)
    finish_tuning(['kd', 'skd_pixel_pair'], records, lambda method, m: 50.0,
                  grads)
    assert weight_grid('skd_pixel_pair', records) == (1.0, 3.0)


def test_later_gradient_strength_averages_the_windows_after_the_first():
    """Summed over the terms per window, averaged over the windows after
    each curve's first; a term strong at the start and weak after it (KD
    with logit standardisation at x0.3) is weak here."""
    record = dict(
        train_curves={
            'kd_grad_ratio/loss_a': {
                '1000': 3.0,
                '2000': 0.1,
                '3000': 0.3
            },
            'kd_grad_ratio/loss_b': {
                '1000': 1.0,
                '2000': 0.5,
                '3000': 0.5
            },
            'kd_ratio/loss_a': {
                '2000': 100.0
            },
        })
    assert later_gradient_strength(record) == pytest.approx(0.7)
    first_only = {'kd_grad_ratio/loss_a': {'1000': 3.0}}
    assert later_gradient_strength(dict(train_curves=first_only)) is None
    assert later_gradient_strength({}) is None
