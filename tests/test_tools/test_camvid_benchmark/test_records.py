# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.records: a record is reused only with the same
settings; its scores and curves come from the run's logs."""
import json
import os
import os.path as osp

import pytest
from camvid_benchmark.plan import lr_runs
from camvid_benchmark.plots import plot_results, plot_val_curves
from camvid_benchmark.protocol import (BASELINE_CONFIG, CONFIGS, FINAL_SEEDS,
                                       METHODS, TUNE_ITERS)
from camvid_benchmark.records import (curves_of, file_hash, is_done,
                                      load_records, parse_metrics, settings_of)
from mmengine.config import Config

from ...conftest import REPO


def test_records_are_reused_only_with_the_same_settings(tmp_path):
    run = lr_runs()[1]  # the student alone at lr 0.05
    settings = settings_of(run)
    # the tuning schedule: half the final runs', the decay ending with it
    assert settings['options'] == {
        'optim_wrapper.optimizer.lr': 0.05,
        'train_cfg.max_iters': TUNE_ITERS,
        'param_scheduler.0.end': TUNE_ITERS
    }
    final = Config.fromfile(osp.join(REPO, BASELINE_CONFIG))
    assert final.train_cfg.max_iters == 2 * TUNE_ITERS
    records = {run['name']: dict(settings=settings)}
    assert is_done(run, records)
    other = dict(
        run,
        options=dict(run['options'], **{'optim_wrapper.optimizer.lr': 0.02}))
    assert not is_done(other, records)
    path = tmp_path / f'{run["name"]}.json'
    path.write_text(json.dumps(dict(settings=settings)))
    assert load_records(str(tmp_path))[run['name']]['settings'] == \
        settings


def test_settings_do_not_depend_on_where_camvid_is(monkeypatch):
    """A record made on a machine with CamVid elsewhere is still reused."""
    run = lr_runs()[1]
    monkeypatch.setenv('CAMVID_ROOT', '/data/one')
    one = settings_of(run)
    monkeypatch.setenv('CAMVID_ROOT', '/mnt/two')
    assert settings_of(run) == one
    changed = dict(run, options=dict(run['options'], **{'randomness.seed': 7}))
    assert settings_of(changed)['resolved'] != one['resolved']


def test_settings_of_a_distillation_row_are_read_quietly(
        monkeypatch, mmengine_log):
    """Hashing a row resolves its teacher's and student's configs too; the
    planner does it for hundreds of runs, without mmengine's INFO line for
    each environment variable filled."""
    run = dict(
        lr_runs()[0], method='kd', config=osp.join(CONFIGS, METHODS['kd']))
    monkeypatch.setenv('CAMVID_ROOT', '/data/quiet')
    settings_of(run)
    assert not [m for m in mmengine_log if 'Using env variable' in m]


def test_a_file_is_hashed_again_when_it_changes(tmp_path):
    """The teacher's hash in every record's settings is read once while
    the file stays as it is, and again when it is replaced."""
    path = tmp_path / 'teacher.pth'
    assert file_hash(str(path)) is None
    path.write_bytes(b'one')
    one = file_hash(str(path))
    assert file_hash(str(path)) == one
    stat = os.stat(path)
    path.write_bytes(b'two')  # the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert file_hash(str(path)) not in (None, one)


def test_metrics_parsed_from_mmseg_test_log():
    log = '\n'.join([
        '+------------+-------+-------+', '|   Class    |  IoU  |  Acc  |',
        '+------------+-------+-------+', '|    Sky     | 85.25 | 93.1  |',
        '|  Bicyclist |  nan  |  nan  |',
        '12/01 - mmengine - INFO - Iter(test) [233/233]    aAcc: 80.0  '
        'mIoU: 41.5300  mAcc: 50.0'
    ])
    metrics = parse_metrics(log)
    assert metrics['mIoU'] == 41.53
    assert metrics['per_class_IoU'] == {'Sky': 85.25, 'Bicyclist': None}
    with pytest.raises(RuntimeError):
        parse_metrics('no metric here')


def _scalars(path, rows):
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))


def test_curves_from_a_resumed_run_and_plots(tmp_path):
    """A record's curves come from every part of a resumed run (the later
    values win), averaged per window; the plots are drawn from records."""
    work = tmp_path / 'final_kd_s0'
    first = [
        dict(iter=i, loss=1.0, loss_kd=0.5, **{'kd_cosine/loss_kd': -1.0})
        for i in (500, 1000, 1500)
    ] + [dict(mIoU=30.004, step=1000)]
    resumed = [
        dict(iter=i, loss=2.0, loss_kd=0.25, **{'kd_cosine/loss_kd': 0.5})
        for i in (1500, 2000)
    ] + [dict(mIoU=40.0, step=2000)]
    _scalars(work / '20260101_000000' / 'vis_data' / '20260101_000000.json',
             first)
    _scalars(work / '20260101_010000' / 'vis_data' / '20260101_010000.json',
             resumed)
    (work / 'train.log').write_text('not a scalar log')
    curves = curves_of(str(work))
    assert curves['val_curve'] == {'1000': 30.0, '2000': 40.0}
    train = curves['train_curves']
    assert train['loss'] == {'1000': 1.0, '2000': 2.0}
    assert train['loss_kd'] == {'1000': 0.5, '2000': 0.25}
    assert train['kd_cosine/loss_kd'] == {'1000': -1.0, '2000': 0.5}

    records = {
        f'final_{m}_s{s}':
        dict(
            method=m,
            seed=s,
            stage='final',
            test_mIoU=40.0 + s + (m == 'kd'),
            val_mIoU=41.0,
            **curves)
        for m in ('baseline', 'kd')
        for s in FINAL_SEEDS
    }
    records['tune_baseline_lr0.05_s100'] = dict(
        method='baseline', stage='tune', lr=0.05, seed=100, **curves)
    plot_val_curves(records, str(tmp_path / 'val.png'))
    assert plot_results(records, str(tmp_path / 'res.png'))
    assert (tmp_path / 'val.png').stat().st_size > 0
    assert (tmp_path / 'res.png').stat().st_size > 0
    assert not plot_results({}, str(tmp_path / 'none.png'))
