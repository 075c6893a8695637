# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.plan: what each stage plans from the records so far,
and the records the plan still wants."""
import os.path as osp

from camvid_benchmark.grid import (reference_strength, tuned_multiple,
                                   weight_grid, weight_options)
from camvid_benchmark.plan import (chosen_lr, current_records, final_runs,
                                   lr_runs, planned, schedule_options,
                                   tune_runs)
from camvid_benchmark.protocol import (BASELINE_CONFIG, CONFIGS, FINAL_SEEDS,
                                       FINAL_VAL_INTERVAL, METHODS, TUNE_ITERS)
from camvid_benchmark.records import settings_of
from camvid_benchmark.reports import table
from mmengine.config import Config

from ...conftest import REPO
from .helpers import finish_tuning, lr_chosen, tuned_record


def test_stages_best_choice_and_final_runs():
    records = {}
    # a method's tuning waits for the learning rate; the check does not
    assert [r['stage'] for r in tune_runs(['kd'], records)] == ['check']
    assert final_runs(['kd'], records) == []  # tuning not done
    score = dict(lr0_02=40.0, lr0_05=45.0, lr0_1=44.0)
    for r in lr_runs():
        key = r['name'].split('_')[2].replace('.', '_')
        records[r['name']] = dict(val_mIoU=score[key], lr=r['lr'])
    assert chosen_lr(records) == 0.05
    tune = tune_runs(['kd'], records)
    assert {r['stage'] for r in tune} == {'tune', 'check'}
    assert all(r['splits'] == ('val', ) for r in tune)
    # the student alone's finals can start; kd's wait for its grid
    assert {r['method'] for r in final_runs(['kd'], records)} == {'baseline'}
    for r in tune:
        records[r['name']] = tuned_record(r, 30.0 + r.get('multiple', 0))
    finals = final_runs(['kd'], records)
    base = [r for r in finals if r['method'] == 'baseline']
    kd = [r for r in finals if r['method'] == 'kd']
    assert [r['seed'] for r in base] == list(FINAL_SEEDS)
    assert base[0]['lr'] == 0.05 and all(r['splits'] == ('val', 'test')
                                         for r in finals)
    assert kd[0]['multiple'] == 3.0  # the best val mIoU of the grid
    # every final run validates equally often; 0.05 is the configs' own lr
    val = {'train_cfg.val_interval': FINAL_VAL_INTERVAL}
    assert kd[0]['options'] == dict(
        weight_options(kd[0]['config'], 3.0), **val)
    assert base[0]['options'] == val


def test_the_chosen_lr_is_shared_by_every_pspnet_row():
    """A rate other than the configs' own reaches the methods' tuning and
    final runs (the student's wrapper where a critic has its own), not the
    ESPNet rows, whose recipe is fixed."""
    records = {
        r['name']: dict(val_mIoU=50.0 if r['lr'] == 0.1 else 40.0, lr=r['lr'])
        for r in lr_runs()
    }
    methods = ['kd', 'skd_pixel_pair_holistic', 'espnet_skd_pixel_pair']
    tune = tune_runs(methods, records)
    by_method = {r['method']: r['options'] for r in tune}
    assert by_method['kd']['optim_wrapper.optimizer.lr'] == 0.1
    holistic = by_method['skd_pixel_pair_holistic']
    assert holistic['optim_wrapper.student.optimizer.lr'] == 0.1
    assert 'optim_wrapper.optimizer.lr' not in holistic
    assert not any('lr' in k for k in by_method['espnet_skd_pixel_pair'])
    for _ in range(2):  # the published runs decide the second points
        for r in tune_runs(methods, records):
            records[r['name']] = tuned_record(r, 1.0)
    finals = {
        (r['method'], r['seed']): r
        for r in final_runs(methods, records)
    }
    assert finals['baseline',
                  0]['options']['optim_wrapper.optimizer.lr'] == 0.1
    assert finals['kd', 0]['options']['optim_wrapper.optimizer.lr'] == 0.1
    assert not any('lr' in k for k in finals['espnet_baseline', 0]['options'])


def test_espnet_rows_have_their_own_student():
    """SKD's own CamVid experiment: the ESPNet row is compared with ESPNet
    trained alone, whose recipe (the paper's Adam) is fixed."""
    records = {}
    for r in lr_runs():
        records[r['name']] = dict(val_mIoU=1.0, lr=r.get('lr'))
    for _ in range(3):  # kd's grid, then the ESPNet row's two points
        for r in tune_runs(['kd', 'espnet_skd_pixel_pair'], records):
            records[r['name']] = tuned_record(r, r.get('multiple') or 0)
    finals = final_runs(['espnet_skd_pixel_pair'], records)
    methods = {r['method'] for r in finals}
    assert methods == {'baseline', 'espnet_baseline', 'espnet_skd_pixel_pair'}
    cfg = Config.fromfile(
        osp.join(REPO, CONFIGS, METHODS['espnet_skd_pixel_pair']))
    assert cfg.model.student.config.endswith('espnet_baseline.py')

    def rec(method, seed, test, **kw):
        return dict(
            method=method,
            seed=seed,
            stage='final',
            test_mIoU=test,
            val_mIoU=0.0,
            **kw)

    text = table({
        'a': rec('baseline', 0, 60.0, lr=0.05),
        'b': rec('espnet_baseline', 0, 40.0),
        'c': rec('espnet_skd_pixel_pair', 0, 43.0, multiple=1.0),
    })
    row = next(line for line in text.splitlines()
               if line.startswith('| espnet_skd_pixel_pair'))
    assert '+3.00' in row  # against ESPNet alone, not the PSPNet student


def test_tuning_schedule_shortens_every_scheduler(tmp_path):
    """The student's and the discriminator's decays end with the shorter
    tuning loop; a scheduler that ends elsewhere (a warm-up) is kept."""
    holistic = osp.join(CONFIGS, METHODS['skd_pixel_pair_holistic'])
    assert schedule_options(holistic, 8000) == {
        'train_cfg.max_iters': 8000,
        'param_scheduler.student.0.end': 8000,
        'param_scheduler.discriminator.0.end': 8000
    }
    cfg = Config.fromfile(osp.join(REPO, BASELINE_CONFIG))
    cfg.param_scheduler.insert(
        0, dict(type='LinearLR', begin=0, end=100, by_epoch=False))
    cfg.param_scheduler[1]['begin'] = 100
    path = str(tmp_path / 'warmup_then_poly.py')  # absolute: REPO ignored
    cfg.dump(path)
    assert schedule_options(path, 4000) == {
        'train_cfg.max_iters': 4000,
        'param_scheduler.1.end': 4000
    }


def test_a_stale_record_decides_no_grid():
    """A record made with other settings than the plan's is dropped before
    anything is derived from it: a stale published run leaves its method's
    second point unknown, and a stale KD grid point leaves the reference
    strength, and so every other second point, unknown."""
    methods = ['kd', 'dist']
    records = lr_chosen()
    finish_tuning(methods, records, lambda method, m: 50.0 + (m == 0.3),
                  dict(kd=2.0, dist=0.2))
    for run in planned(methods, records):
        if run['name'] in records:
            records[run['name']]['settings'] = settings_of(run)
    current, stale, plan = current_records(methods, records)
    assert (current, stale) == (records, [])
    assert plan == planned(methods, records)

    def tampered(name):
        out = {k: dict(v) for k, v in records.items()}
        out[name]['settings'] = dict(out[name]['settings'], seed=-1)
        return out

    current, stale, _ = current_records(methods, tampered('tune_dist_w1_s100'))
    assert stale == ['tune_dist_w1_s100']
    assert weight_grid('dist', current) is None
    assert weight_grid('dist', records) == (1.0, 3.0)
    current, stale, _ = current_records(methods, tampered('tune_kd_w0.3_s100'))
    assert stale == ['tune_kd_w0.3_s100']
    assert reference_strength(current) is None
    assert weight_grid('dist', current) is None
    # the published run is still wanted as it was made: it stays current
    assert 'tune_dist_w1_s100' in current


def test_a_row_with_weights_set_in_training_has_no_grid():
    """dist_calibrated (DIST with Calibrated weights) is tuned once, its
    config as it is, at the tuning schedule with the chosen learning rate;
    its finals, with no weight options, follow once that run beats on val
    the point that DIST's own grid chose (val decides, as within a grid)."""
    assert not any(r['method'] == 'dist_calibrated'
                   for r in tune_runs(['dist_calibrated'], {}))
    records = lr_chosen()
    for r in lr_runs():  # a rate other than the configs' own
        records[r['name']]['val_mIoU'] = 50.0 if r['lr'] == 0.1 else 40.0
    runs = [
        r for r in tune_runs(['kd', 'dist_calibrated'], records)
        if r['method'] == 'dist_calibrated'
    ]
    assert len(runs) == 1
    tune = runs[0]
    assert tune['name'] == 'tune_dist_calibrated_w1_s100'
    assert tune['config'] == osp.join(CONFIGS, 'dist_calibrated.py')
    assert tune['options'] == dict(
        schedule_options(tune['config'], TUNE_ITERS),
        **{'optim_wrapper.optimizer.lr': 0.1})
    assert final_runs(['dist_calibrated'], records) == final_runs([], records)
    records[tune['name']] = tuned_record(tune, 55.0)
    # DIST's grid is not complete: nothing to compare with yet
    assert final_runs(['dist_calibrated'], records) == final_runs([], records)
    finish_tuning(['kd', 'dist'], records, lambda method, m: 50.0 + (m != 1.0),
                  dict(kd=1.0, dist=0.1))
    finals = [
        r for r in final_runs(['dist_calibrated'], records)
        if r['method'] == 'dist_calibrated'
    ]
    assert [r['seed'] for r in finals] == list(FINAL_SEEDS)
    assert finals[0]['config'] == tune['config']
    assert finals[0]['options'] == {
        'optim_wrapper.optimizer.lr': 0.1,
        'train_cfg.val_interval': FINAL_VAL_INTERVAL
    }


def test_a_row_set_in_training_that_loses_to_its_grid_gets_no_finals():
    """The pre-ReLU row set in training collapsed in its tuning run: its
    val mIoU below (or level with) the point the pre-ReLU grid chose, it
    gets no final runs; one point better, it does."""
    records = lr_chosen()
    finish_tuning(['kd', 'prerelu_pixel_pair'], records,
                  lambda method, m: 50.0 + (m != 1.0),
                  dict(
                      kd=1.0,
                      prerelu_pixel_pair=dict(
                          loss_prerelu_pixel=0.5, loss_prerelu_pair=0.5)))
    chosen = tuned_multiple('prerelu_pixel_pair', records)
    assert chosen is not None and chosen != 1.0  # the grid chose 51.0
    tune = tune_runs(['prerelu_pixel_pair_calibrated'], records)[0]
    assert tune['method'] == 'prerelu_pixel_pair_calibrated'

    def finals_with(val):
        records[tune['name']] = tuned_record(tune, val)
        return [
            r['seed']
            for r in final_runs(['prerelu_pixel_pair_calibrated'], records)
            if r['method'] == 'prerelu_pixel_pair_calibrated'
        ]

    assert finals_with(0.87) == []
    assert finals_with(51.0) == []  # a tie: the grid's weights win
    assert finals_with(52.0) == list(FINAL_SEEDS)
