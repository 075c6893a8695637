# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/benchmarks/camvid_quality.py: its rows are the protocol's config
files, it schedules tune before final, picks the best val setting, reuses a
record only for the same settings, and its table computes what it says."""
import argparse
import importlib.util
import json
import os
import os.path as osp
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from mmseg_kd.apis.probe import random_batch
from ..conftest import REPO

SCRIPT = osp.join(REPO, 'tools', 'benchmarks', 'camvid_quality.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('camvid_quality', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_row_is_the_protocols_student_and_teacher(bench):
    baseline = Config.fromfile(osp.join(REPO, bench.BASELINE_CONFIG))
    teacher = Config.fromfile(osp.join(REPO, bench.TEACHER_CONFIG))
    assert baseline.model.backbone.base_channels == 8
    assert teacher.model.backbone.base_channels == 32
    for method, name in bench.METHODS.items():
        cfg = Config.fromfile(osp.join(REPO, bench.CONFIGS, name))
        student = Config.fromfile(
            osp.join(
                REPO,
                bench.FIXED_BASELINES.get(
                    bench.STUDENT_OF.get(method), bench.BASELINE_CONFIG)))
        assert cfg.train_cfg.max_iters == baseline.train_cfg.max_iters
        assert cfg.optim_wrapper.get(
            'optimizer',
            cfg.optim_wrapper.get('student', {}).get(
                'optimizer')) == student.optim_wrapper['optimizer'], method
        assert cfg.model.teacher.checkpoint == bench.TEACHER_CHECKPOINT
        assert cfg.model.teacher.config.endswith(
            osp.basename(bench.TEACHER_CONFIG))
        assert cfg.model.student.config.endswith(
            osp.basename(student.filename))


@pytest.mark.parametrize(
    'method', ['kd', 'skd_pixel_pair_holistic', 'prerelu_pixel_pair', 'cirkd'])
def test_rows_build_and_train(bench, method, fresh_message_hub):
    cfg = Config.fromfile(osp.join(REPO, bench.CONFIGS, bench.METHODS[method]))
    cfg.model.teacher.checkpoint = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    from mmseg_kd.engine.optimizers import DistillationOptimWrapperConstructor
    ow = cfg.optim_wrapper.to_dict()
    ow.pop('constructor')
    log = model.train_step(
        random_batch((64, 64), 2, 11),
        DistillationOptimWrapperConstructor(ow)(model))
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log.values())
    for name in cfg.model.distill.losses:  # each term (or its parts)
        assert any(k == name or k.startswith(f'{name}_') for k in log), name
    # the protocol keeps the gradient diagnostics (iteration 0 of 500)
    assert cfg.model.distill.monitor.grad_cosine_interval == 500
    assert any(k.startswith('kd_cosine/') for k in log)
    assert any(k.startswith('kd_grad_ratio/') for k in log)


def test_weight_grid_scales_every_term(bench):
    config = osp.join(bench.CONFIGS, bench.METHODS['skd_pixel_pair'])
    published = bench.published_weights(config)
    assert published == {'loss_skd_pixel': 10.0, 'loss_skd_pair': 0.5}
    assert bench.weight_options(config, 1.0) == {}
    assert bench.weight_options(config, 0.3) == {
        'model.distill.losses.loss_skd_pixel.loss_weight': 3.0,
        'model.distill.losses.loss_skd_pair.loss_weight': 0.15
    }
    assert 1.0 in bench.FULL_WEIGHT_GRID and 0.05 in bench.LR_GRID


def _first_loss(config: str) -> str:
    """The name of the first loss of a distillation config."""
    distill = Config.fromfile(config).model.get('distill')
    return next(iter(distill.losses)) if distill else 'loss_a'


def _tuned(run, val, grad=1.0, value=0.5):
    """A tuning run's record: ``val`` mIoU and, over its first 1000
    iterations, per term (``grad``: term -> its gradient ratio at the
    published weights; a number: the config's first loss alone) a gradient
    ratio of that times the term's multiple (linear in the weight) and a
    value ratio ``value`` times that."""
    m = run.get('multiple') or 1.0
    curves = {}
    for term, g in (grad if isinstance(grad, dict) else {
            _first_loss(run['config']): grad
    }).items():
        # a loss of several terms logs them as <loss>_<term>
        loss = term if not isinstance(m, dict) or term in m else next(
            k for k in m if term.startswith(k + '_'))
        ratio = g * (m[loss] if isinstance(m, dict) else m)
        curves[f'kd_grad_ratio/{term}'] = {'1000': ratio, '2000': 9.0}
        curves[f'kd_ratio/{term}'] = {'1000': ratio * value}
    return dict(
        method=run['method'],
        stage=run['stage'],
        seed=run['seed'],
        val_mIoU=val,
        multiple=run.get('multiple'),
        lr=run.get('lr'),
        train_curves=curves)


def test_stages_best_choice_and_final_runs(bench):
    records = {}
    # a method's tuning waits for the learning rate; the check does not
    assert [r['stage'] for r in bench.tune_runs(['kd'], records)] == ['check']
    assert bench.final_runs(['kd'], records) == []  # tuning not done
    score = dict(lr0_02=40.0, lr0_05=45.0, lr0_1=44.0)
    for r in bench.lr_runs():
        key = r['name'].split('_')[2].replace('.', '_')
        records[r['name']] = dict(val_mIoU=score[key], lr=r['lr'])
    assert bench.chosen_lr(records) == 0.05
    tune = bench.tune_runs(['kd'], records)
    assert {r['stage'] for r in tune} == {'tune', 'check'}
    assert all(r['splits'] == ('val', ) for r in tune)
    # the student alone's finals can start; kd's wait for its grid
    assert {r['method']
            for r in bench.final_runs(['kd'], records)} == {'baseline'}
    for r in tune:
        records[r['name']] = _tuned(r, 30.0 + r.get('multiple', 0))
    finals = bench.final_runs(['kd'], records)
    base = [r for r in finals if r['method'] == 'baseline']
    kd = [r for r in finals if r['method'] == 'kd']
    assert [r['seed'] for r in base] == list(bench.FINAL_SEEDS)
    assert base[0]['lr'] == 0.05 and all(r['splits'] == ('val', 'test')
                                         for r in finals)
    assert kd[0]['multiple'] == 3.0  # the best val mIoU of the grid
    # every final run validates equally often; 0.05 is the configs' own lr
    val = {'train_cfg.val_interval': bench.FINAL_VAL_INTERVAL}
    assert kd[0]['options'] == dict(
        bench.weight_options(kd[0]['config'], 3.0), **val)
    assert base[0]['options'] == val


def test_the_chosen_lr_is_shared_by_every_pspnet_row(bench):
    """A rate other than the configs' own reaches the methods' tuning and
    final runs (the student's wrapper where a critic has its own), not the
    ESPNet rows, whose recipe is fixed."""
    records = {
        r['name']: dict(val_mIoU=50.0 if r['lr'] == 0.1 else 40.0, lr=r['lr'])
        for r in bench.lr_runs()
    }
    methods = ['kd', 'skd_pixel_pair_holistic', 'espnet_skd_pixel_pair']
    tune = bench.tune_runs(methods, records)
    by_method = {r['method']: r['options'] for r in tune}
    assert by_method['kd']['optim_wrapper.optimizer.lr'] == 0.1
    holistic = by_method['skd_pixel_pair_holistic']
    assert holistic['optim_wrapper.student.optimizer.lr'] == 0.1
    assert 'optim_wrapper.optimizer.lr' not in holistic
    assert not any('lr' in k for k in by_method['espnet_skd_pixel_pair'])
    for _ in range(2):  # the published runs decide the second points
        for r in bench.tune_runs(methods, records):
            records[r['name']] = _tuned(r, 1.0)
    finals = {
        (r['method'], r['seed']): r
        for r in bench.final_runs(methods, records)
    }
    assert finals['baseline',
                  0]['options']['optim_wrapper.optimizer.lr'] == 0.1
    assert finals['kd', 0]['options']['optim_wrapper.optimizer.lr'] == 0.1
    assert not any('lr' in k for k in finals['espnet_baseline', 0]['options'])


def test_records_are_reused_only_with_the_same_settings(bench, tmp_path):
    run = bench.lr_runs()[1]  # the student alone at lr 0.05
    settings = bench.settings_of(run)
    # the tuning schedule: half the final runs', the decay ending with it
    assert settings['options'] == {
        'optim_wrapper.optimizer.lr': 0.05,
        'train_cfg.max_iters': bench.TUNE_ITERS,
        'param_scheduler.0.end': bench.TUNE_ITERS
    }
    final = Config.fromfile(osp.join(REPO, bench.BASELINE_CONFIG))
    assert final.train_cfg.max_iters == 2 * bench.TUNE_ITERS
    records = {run['name']: dict(settings=settings)}
    assert bench.is_done(run, records)
    other = dict(
        run,
        options=dict(run['options'], **{'optim_wrapper.optimizer.lr': 0.02}))
    assert not bench.is_done(other, records)
    path = tmp_path / f'{run["name"]}.json'
    path.write_text(json.dumps(dict(settings=settings)))
    assert bench.load_records(str(tmp_path))[run['name']]['settings'] == \
        settings


def test_metrics_parsed_from_mmseg_test_log(bench):
    log = '\n'.join([
        '+------------+-------+-------+', '|   Class    |  IoU  |  Acc  |',
        '+------------+-------+-------+', '|    Sky     | 85.25 | 93.1  |',
        '|  Bicyclist |  nan  |  nan  |',
        '12/01 - mmengine - INFO - Iter(test) [233/233]    aAcc: 80.0  '
        'mIoU: 41.5300  mAcc: 50.0'
    ])
    metrics = bench.parse_metrics(log)
    assert metrics['mIoU'] == 41.53
    assert metrics['per_class_IoU'] == {'Sky': 85.25, 'Bicyclist': None}
    with pytest.raises(RuntimeError):
        bench.parse_metrics('no metric here')


def test_table_mean_std_and_gap(bench):

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
    text = bench.table(records)
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
    text = bench.table(records, superseded=['e', 'f'])
    current, old = text.split('Superseded')
    assert '| kd (1 of 3 seeds) | kd x3 | 48.00 +- 0.00 | +7.00 |' in current
    assert '| kd (2 of 3 seeds) | x0.3 | 46.50 +- 0.71 | +5.50 |' in old
    assert '46.00, 47.00' not in current and '| baseline |' not in old


def test_espnet_rows_have_their_own_student(bench):
    """SKD's own CamVid experiment: the ESPNet row is compared with ESPNet
    trained alone, whose recipe (the paper's Adam) is fixed."""
    records = {}
    for r in bench.lr_runs():
        records[r['name']] = dict(val_mIoU=1.0, lr=r.get('lr'))
    for _ in range(3):  # kd's grid, then the ESPNet row's two points
        for r in bench.tune_runs(['kd', 'espnet_skd_pixel_pair'], records):
            records[r['name']] = _tuned(r, r.get('multiple') or 0)
    finals = bench.final_runs(['espnet_skd_pixel_pair'], records)
    methods = {r['method'] for r in finals}
    assert methods == {'baseline', 'espnet_baseline', 'espnet_skd_pixel_pair'}
    cfg = Config.fromfile(
        osp.join(REPO, bench.CONFIGS, bench.METHODS['espnet_skd_pixel_pair']))
    assert cfg.model.student.config.endswith('espnet_baseline.py')

    def rec(method, seed, test, **kw):
        return dict(
            method=method,
            seed=seed,
            stage='final',
            test_mIoU=test,
            val_mIoU=0.0,
            **kw)

    text = bench.table({
        'a':
        rec('baseline', 0, 60.0, lr=0.05),
        'b':
        rec('espnet_baseline', 0, 40.0),
        'c':
        rec('espnet_skd_pixel_pair', 0, 43.0, multiple=1.0),
    })
    row = next(line for line in text.splitlines()
               if line.startswith('| espnet_skd_pixel_pair'))
    assert '+3.00' in row  # against ESPNet alone, not the PSPNet student


def _scalars(path, rows):
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))


def test_curves_from_a_resumed_run_and_plots(bench, tmp_path):
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
    curves = bench.curves_of(str(work))
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
        for s in bench.FINAL_SEEDS
    }
    records['tune_baseline_lr0.05_s100'] = dict(
        method='baseline', stage='tune', lr=0.05, seed=100, **curves)
    bench.plot_val_curves(records, str(tmp_path / 'val.png'))
    assert bench.plot_results(records, str(tmp_path / 'res.png'))
    assert (tmp_path / 'val.png').stat().st_size > 0
    assert (tmp_path / 'res.png').stat().st_size > 0
    assert not bench.plot_results({}, str(tmp_path / 'none.png'))


def test_a_run_is_trained_by_one_runner_at_a_time(bench, tmp_path):
    work = str(tmp_path / 'tune_kd_w1_s100')
    with bench.claimed(work):
        with pytest.raises(bench.RunningElsewhere, match='being trained'):
            with bench.claimed(work):
                pass
    assert not osp.exists(osp.join(work, 'RUNNING'))  # released
    dead = 2**22 + 12345  # above Linux's pid_max default: no such process
    with open(osp.join(work, 'RUNNING'), 'w') as f:
        f.write(str(dead))
    with bench.claimed(work):  # a stale lock is taken over
        with open(osp.join(work, 'RUNNING')) as f:
            assert int(f.read()) == os.getpid()


def test_a_work_dir_resumes_only_a_run_of_the_same_settings(bench, tmp_path):
    """A final run keeps its name when its settings change (a new chosen
    weight): rerunning it must not --resume the old run's checkpoint."""
    run = bench.lr_runs()[0]
    work = str(tmp_path / run['name'])
    os.makedirs(work)
    for name, text in (('RUNNING', str(os.getpid())),
                       ('last_checkpoint', f'{work}/iter_4000.pth')):
        with open(osp.join(work, name), 'w') as f:
            f.write(text)
    # a work dir from before settings.json whose run never finished (no
    # record): continued as it is, and its settings written down
    assert bench.set_aside_other_run(run, work, None) is None
    assert bench.checkpoint_iteration(work) == 4000
    assert bench.work_settings(work, None) == bench.settings_of(run)
    assert bench.set_aside_other_run(run, work, None) is None  # the same
    # rerun with other settings: the old run's files are kept aside
    other = dict(
        run, options=dict(run['options'], **{'train_cfg.max_iters': 10}))
    aside = bench.set_aside_other_run(other, work, None)
    assert aside is not None and osp.dirname(aside) == work
    assert sorted(os.listdir(work)) == sorted(
        ['RUNNING', bench.WORK_SETTINGS,
         osp.basename(aside)])
    assert bench.checkpoint_iteration(work) == 0  # starts from scratch
    assert bench.checkpoint_iteration(aside) == 4000
    assert bench.work_settings(aside, None) == bench.settings_of(run)
    assert bench.work_settings(work, None) == bench.settings_of(other)
    # a work dir from before settings.json whose run finished: its record
    # says what it holds
    legacy = str(tmp_path / 'legacy')
    os.makedirs(legacy)
    with open(osp.join(legacy, 'last_checkpoint'), 'w') as f:
        f.write('iter_16000.pth')
    finished = dict(settings=bench.settings_of(run))
    assert bench.resumable_iteration(run, legacy, finished) == 16000
    # the expected time of a rerun counts none of the old run's iterations
    assert bench.resumable_iteration(other, legacy, finished) == 0
    assert bench.set_aside_other_run(run, legacy, finished) is None
    os.remove(osp.join(legacy, bench.WORK_SETTINGS))
    assert bench.set_aside_other_run(other, legacy, finished) is not None
    assert bench.checkpoint_iteration(legacy) == 0
    # a work dir with nothing in it (records from elsewhere): nothing moved
    empty = str(tmp_path / 'empty')
    os.makedirs(empty)
    assert bench.set_aside_other_run(other, empty, finished) is None
    assert os.listdir(empty) == [bench.WORK_SETTINGS]
    assert bench.resumable_iteration(other, str(tmp_path / 'none'),
                                     finished) == 0
    # a settings file that cannot be read holds no run's settings
    with open(osp.join(empty, bench.WORK_SETTINGS), 'w') as f:
        f.write('{"config": ')
    assert bench.set_aside_other_run(other, empty, None) is not None
    assert bench.work_settings(empty, None) == bench.settings_of(other)


def _lr_chosen(bench):
    """Records of the learning-rate runs, 0.05 the best."""
    return {
        r['name']:
        dict(val_mIoU=50.0 if r['lr'] == 0.05 else 40.0, lr=r['lr'])
        for r in bench.lr_runs()
    }


def _lr_records(bench):
    """Full records (method, stage, settings) of the learning-rate runs,
    0.05 the best."""
    return {
        r['name']:
        dict(
            _lr_chosen(bench)[r['name']],
            method='baseline',
            stage='tune',
            settings=bench.settings_of(r))
        for r in bench.lr_runs()
    }


def _finish_tuning(bench, methods, records, val, grad, value=None):
    """Record every tuning run the plan allows until none is left: ``val``
    (method, multiple) -> val mIoU, ``grad`` method -> gradient ratio at
    the published weights, ``value`` method -> value over gradient ratio
    (default 0.5)."""
    while True:
        todo = [
            r for r in bench.tune_runs(methods, records)
            if r['stage'] == 'tune' and r['name'] not in records
        ]
        if not todo:
            return
        for r in todo:
            records[r['name']] = _tuned(r, val(r['method'], r['multiple']),
                                        grad[r['method']],
                                        (value or {}).get(r['method'], 0.5))


def test_second_grid_point_is_the_calibrated_multiple(bench):
    """KD is tuned over the full grid; every other method over its
    published weights and the multiple that gives its gradient the
    strength KD has at its tuned weights, rounded to 1-3 steps, never 1."""
    assert bench.calibrated_multiple(1.0, 0.25) == 0.3
    assert bench.calibrated_multiple(1.0, 0.05) == 0.03  # nearer in log
    assert bench.calibrated_multiple(2.0, 2.4) == 3.0  # 1.2: the neighbour
    assert bench.calibrated_multiple(1.0, 0.8) == 0.3
    assert bench.calibrated_multiple(1.0, 1e6) == 100.0  # the scale's ends
    assert bench.calibrated_multiple(1.0, 1e-6) == 0.01
    records = _lr_chosen(bench)
    # nothing but the published run until KD's grid and it are done
    assert [
        r['multiple'] for r in bench.tune_runs(['dist'], records)
        if r['stage'] == 'tune'
    ] == [1.0]
    assert bench.weight_grid('dist', records) is None
    _finish_tuning(bench, ['kd', 'dist'], records, lambda method, m: 50.0 +
                   (m == 0.3), dict(kd=2.0, dist=0.2))
    # kd tuned at 0.3: strength 0.6; dist's published strength 0.2 -> x3
    assert bench.reference_strength(records) == pytest.approx(0.6)
    assert bench.weight_grid('dist', records) == (1.0, 3.0)
    assert bench.tuned_multiple('kd', records) == 0.3
    assert bench.tuned_multiple('dist', records) == 1.0  # tied: published
    # a tie below 1 goes to the published weights too
    _finish_tuning(bench, ['cgd'], records, lambda method, m: 50.0,
                   dict(cgd=20.0))
    assert bench.weight_grid('cgd', records) == (0.03, 1.0)
    assert bench.tuned_multiple('cgd', records) == 1.0
    # a record without the gradient diagnostic: a warning naming the fix,
    # and the method's grid stays unknown (nothing else is held up)
    records['tune_dist_w1_s100']['train_curves'] = {}
    with pytest.warns(UserWarning, match='delete it and rerun'):
        assert bench.weight_grid('dist', records) is None
    with pytest.warns(UserWarning):
        names = [r['name'] for r in bench.tune_runs(['dist', 'cgd'], records)]
    assert 'tune_dist_w3_s100' not in names  # its second point: unknown
    assert 'tune_cgd_w0.03_s100' in names


def test_a_method_of_several_terms_has_a_per_term_point(bench):
    """The one-multiple grid keeps the published balance between a
    method's terms; a method of several terms is also tuned at the point
    that gives each term an equal share of the reference's strength."""
    assert bench.per_term_multiples(
        {
            'loss_a': 10.0,
            'loss_b': 0.01,
            'loss_c': 0.0  # measured no gradient: published weight
        },
        0.9) == dict(
            loss_a=0.03, loss_b=30.0, loss_c=1.0)
    records = _lr_chosen(bench)
    grads = dict(
        kd=2.0, skd_pixel_pair=dict(loss_skd_pixel=17.5, loss_skd_pair=0.15))
    _finish_tuning(bench, ['kd', 'skd_pixel_pair'], records,
                   lambda method, m: 50.0 + (m == 0.3) + isinstance(m, dict),
                   grads)
    # kd tuned at 0.3: strength 0.6, a share of 0.3
    # each: pixel 0.3 / 17.5 -> x0.01, pair 0.3 / 0.15 = 2 -> x3 (in log)
    terms = dict(loss_skd_pixel=0.01, loss_skd_pair=3.0)
    assert bench.weight_grid('skd_pixel_pair', records) == (0.03, 1.0, terms)
    assert 'tune_skd_pixel_pair_wterms_s100' in records
    run = next(
        r for r in bench.tune_runs(['skd_pixel_pair'], records)
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
    assert bench.tuned_multiple('skd_pixel_pair', records) == terms
    final = bench.final_runs(['skd_pixel_pair'], records)[-1]
    assert final['multiple'] == terms
    assert final['options']['model.distill.losses.loss_skd_pair.'
                            'loss_weight'] == 1.5
    label = 'skd_pair x3, skd_pixel x0.01'
    assert bench.multiple_label(terms) == label
    tunes = {k: v for k, v in records.items() if k.startswith('tune_skd')}
    assert f'| skd_pixel_pair | {label} | 51.00 |' in bench.tuning_table(tunes)
    calibration = bench.calibration_table(['skd_pixel_pair'], records)
    assert f'| 0.03, 1, per term ({label}) | {label} |' in calibration
    assert f'| tune {label} | loss_skd_pair |' in bench.diagnostics_table(
        ['skd_pixel_pair'], records)
    # until it is run, the calibration row shows the best so far
    del records['tune_skd_pixel_pair_wterms_s100']
    calibration = bench.calibration_table(['skd_pixel_pair'], records)
    assert '| x1 so far (per term to run) | 50.00 / 50.00 |' in calibration
    assert bench.tuned_multiple('skd_pixel_pair', records) is None
    # a per-term point that does not name every term of the config
    with pytest.raises(ValueError, match='delete it and rerun'):
        bench.weight_options(run['config'], dict(loss_skd_pixel=0.1))
    # a loss of several terms (CIRKD's memory loss, logged as
    # loss_memory_pixel and loss_memory_region) is one term of the point
    grads['cirkd'] = dict(
        loss_kd=1.0,
        loss_minibatch=0.5,
        loss_memory_pixel=0.1,
        loss_memory_region=0.1)
    _finish_tuning(bench, ['cirkd'], records, lambda method, m: 50.0, grads)
    # a share of 0.2 each: kd 0.2 -> x0.3, minibatch 0.4 -> x0.3, memory 1
    assert bench.weight_grid('cirkd', records)[-1] == dict(
        loss_kd=0.3, loss_minibatch=0.3, loss_memory=1.0)
    # a logged term that is none of the config's losses: no per-term point,
    # a warning naming the fix, the rest of the grid as it was
    records['tune_cirkd_w1_s100']['train_curves']['kd_grad_ratio/loss_x'] = {
        '1000': 1.0
    }
    with pytest.warns(UserWarning, match='none of the config'):
        grid = bench.weight_grid('cirkd', records)
    assert all(not isinstance(m, dict) for m in grid) and 1.0 in grid
    # terms that all round to one multiple make a uniform point
    records = _lr_chosen(bench)
    grads['skd_pixel_pair'] = dict(loss_skd_pixel=0.3, loss_skd_pair=0.3)
    _finish_tuning(bench, ['kd', 'skd_pixel_pair'], records,
                   lambda method, m: 50.0, grads)
    assert bench.weight_grid('skd_pixel_pair', records) == (1.0, 3.0)


def test_calibration_table_from_the_tuning_records(bench):
    """The ratios come from the first window of the tuning runs' curves;
    the last columns are the multiples that KD's tuned ratios give."""
    assert 'no complete grid' in bench.calibration_table(['kd'], {})
    records = _lr_chosen(bench)
    tuned = dict(kd=0.3, dist=3.0)
    _finish_tuning(bench, ['kd', 'dist'], records,
                   lambda method, m: 50.0 + (m == tuned[method]),
                   dict(kd=1.0, dist=0.1), dict(dist=5.0))
    text = bench.calibration_table(['dist', 'cwd_logits'], records)
    assert '| kd |' not in text  # the reference is found all the same
    text = bench.calibration_table(['kd', 'dist', 'cwd_logits'], records)
    # kd tuned at 0.3: value ratio 0.15, gradient strength 0.3
    assert 'r = 0.15, gradient strength g = 0.3.' in text
    kd = next(line for line in text.splitlines() if line.startswith('| kd'))
    assert '| 0.1, 0.3, 1, 3 | x0.3 |' in kd and '0.5 -> 0.15' in kd
    assert 'loss_kd 1 |' in kd and 'loss_kd 0.3 |' in kd  # grad ratios
    assert kd.endswith('| x0.3 | x0.3 |')
    dist = next(line for line in text.splitlines()
                if line.startswith('| dist'))
    # dist's published strength 0.1 -> x3 exactly; its grid is (1, 3);
    # its value ratio at x1 is 0.5: r = 0.15 would give x0.3
    assert '| 1, 3 | x3 | 51.00 / 50.00 | 0.5 -> 1.5 |' in dist
    assert dist.endswith('| x0.3 | x3 |')
    assert 'cwd_logits' not in text  # its tuning is not complete


def test_settings_do_not_depend_on_where_camvid_is(bench, monkeypatch):
    """A record made on a machine with CamVid elsewhere is still reused."""
    run = bench.lr_runs()[1]
    monkeypatch.setenv('CAMVID_ROOT', '/data/one')
    one = bench.settings_of(run)
    monkeypatch.setenv('CAMVID_ROOT', '/mnt/two')
    assert bench.settings_of(run) == one
    changed = dict(run, options=dict(run['options'], **{'randomness.seed': 7}))
    assert bench.settings_of(changed)['resolved'] != one['resolved']


def test_tuning_schedule_shortens_every_scheduler(bench, tmp_path):
    """The student's and the discriminator's decays end with the shorter
    tuning loop; a scheduler that ends elsewhere (a warm-up) is kept."""
    holistic = osp.join(bench.CONFIGS,
                        bench.METHODS['skd_pixel_pair_holistic'])
    assert bench.schedule_options(holistic, 8000) == {
        'train_cfg.max_iters': 8000,
        'param_scheduler.student.0.end': 8000,
        'param_scheduler.discriminator.0.end': 8000
    }
    cfg = Config.fromfile(osp.join(REPO, bench.BASELINE_CONFIG))
    cfg.param_scheduler.insert(
        0, dict(type='LinearLR', begin=0, end=100, by_epoch=False))
    cfg.param_scheduler[1]['begin'] = 100
    path = str(tmp_path / 'warmup_then_poly.py')  # absolute: REPO ignored
    cfg.dump(path)
    assert bench.schedule_options(path, 4000) == {
        'train_cfg.max_iters': 4000,
        'param_scheduler.1.end': 4000
    }


def test_teacher_file_holds_the_weights_alone(bench, tmp_path):
    """The committed teacher is its model's weights, loadable weights-only
    and strictly, without the optimizer state of the training checkpoint."""
    from mmseg_kd.utils.checkpoint import load_checkpoint_file
    cfg = Config.fromfile(osp.join(REPO, bench.TEACHER_CONFIG))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    training = dict(
        meta=dict(iter=16000),
        state_dict=model.state_dict(),
        optimizer=dict(state={0: dict(momentum_buffer=torch.ones(3))}))
    torch.save(training, tmp_path / 'iter_16000.pth')
    target = tmp_path / 'teacher' / 'teacher.pth'
    bench.save_teacher_weights(str(tmp_path / 'iter_16000.pth'), str(target))
    saved = load_checkpoint_file(str(target), 'teacher')
    assert list(saved) == ['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(saved['state_dict'][key], value), key


def test_next_run_completes_rows_before_more_tuning(bench, monkeypatch):
    """A method's finals come before the next method's grid; runs held
    elsewhere or running here are passed over."""
    monkeypatch.setattr(bench, 'teacher_ready', lambda: True)
    records = {}
    methods = ['kd', 'cwd_logits']
    stages = bench.STAGES
    first = bench.next_run(stages, methods, records, set())
    assert first['name'] == 'teacher_teacher_s0'

    def finish(run, val=40.0):
        records[run['name']] = dict(
            _tuned(run, val), settings=bench.settings_of(run))

    finish(first)
    for r in bench.lr_runs():
        finish(r, 50.0 if r['lr'] == 0.05 else 40.0)
    # the student alone's finals, then kd's grid
    assert bench.next_run(stages, methods, records,
                          set())['name'] == 'final_baseline_s0'
    busy = {f'final_baseline_s{s}' for s in bench.FINAL_SEEDS}
    assert bench.next_run(stages, methods, records,
                          busy)['name'] == 'tune_kd_w0.1_s100'
    for r in bench.tune_runs(['kd'], records):
        if r['method'] == 'kd':
            finish(r)
    # kd's grid is complete: its finals before cwd_logits' grid
    assert bench.next_run(stages, methods, records,
                          busy)['name'] == 'final_kd_s0'
    busy |= {f'final_kd_s{s}' for s in bench.FINAL_SEEDS}
    published = bench.next_run(stages, methods, records, busy)
    assert published['name'] == 'tune_cwd_logits_w1_s100'
    # one stage only
    assert bench.next_run(('tune', ), methods, records,
                          set())['name'] == 'tune_cwd_logits_w1_s100'
    # its second point waits for the published run, then is planned
    busy.add(published['name'])
    waiting = bench.next_run(stages, methods, records, busy)
    assert waiting['stage'] == 'check'  # nothing of cwd_logits to run
    finish(published)
    # kd all tied: its published weight, strength 1.0, as cwd_logits' at
    # x1; the second point is then the neighbour on the scale
    assert bench.next_run(stages, methods, records,
                          busy)['name'] == 'tune_cwd_logits_w3_s100'


def test_expected_time_from_the_records(bench):
    """A run's expected time comes from the seconds per iteration of
    finished, uninterrupted runs: its own method's, else its kind's."""

    def done(method, stage, seconds, iters, resumed=()):
        return dict(
            method=method, stage=stage, **_timing(seconds, iters, resumed))

    records = {
        'a': done('kd', 'tune', 2400, 8000),  # 0.3 s/it
        'b': done('kd', 'tune', 100, 8000, resumed=[6000]),  # a part only
        'c': done('baseline', 'final', 1600, 16000),  # 0.1 s/it
        'd': done('espnet_baseline', 'final', 4800, 16000),  # 0.3 s/it
    }
    extra = bench.EVALUATION_SECONDS

    def run(method, iters=None):
        options = {} if iters is None else {'train_cfg.max_iters': iters}
        config = (
            bench.BASELINE_CONFIG if method == 'baseline' else osp.join(
                bench.CONFIGS, bench.METHODS[method]))
        return dict(method=method, options=options, config=config)

    assert bench.iterations_of(records['a']) == 8000
    assert bench.expected_seconds(
        run('kd'), records) == pytest.approx(0.3 * 16000 + extra)
    # no record of its own: the distillation runs of the PSPNet student
    assert bench.expected_seconds(run('cwd_logits', 8000),
                                  records) == pytest.approx(2400 + extra)
    assert bench.expected_seconds(run('baseline', 32000),
                                  records) == pytest.approx(3200 + extra)
    # the ESPNet row has no distillation run of its student to go by: its
    # student alone's rate plus what the teacher adds to the PSPNet's
    assert bench.expected_seconds(
        run('espnet_skd_pixel_pair'),
        records) == pytest.approx((0.3 + 0.3 - 0.1) * 16000 + extra)
    del records['c']
    assert bench.expected_seconds(run('espnet_skd_pixel_pair'),
                                  records) is None
    # a run resumed from a checkpoint has only the rest of it to train
    assert bench.expected_seconds(
        run('kd'), records, done=12000) == pytest.approx(0.3 * 4000 + extra)


def test_checkpoint_iteration_is_where_resume_continues(bench, tmp_path):
    assert bench.checkpoint_iteration(str(tmp_path / 'never_started')) == 0
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4000.pth'))
    assert bench.checkpoint_iteration(str(tmp_path)) == 4000
    (tmp_path / 'last_checkpoint').write_text('')
    assert bench.checkpoint_iteration(str(tmp_path)) == 0


def _timing(seconds: float, iterations: int, resumed=()) -> dict:
    """The keys a finished run's rate is read from (uninterrupted unless
    ``resumed`` names the iterations it was resumed at)."""
    return dict(
        train_seconds=seconds,
        resumed_at=list(resumed),
        train_curves={'loss': {
            str(iterations): 1.0
        }})


def _records_with_a_timed_final(bench) -> dict:
    """The learning-rate records and, to estimate from, the student alone's
    first final run: 16000 iterations at 0.1 s/it."""
    records = _lr_records(bench)
    first = bench.final_runs([], records)[0]
    records[first['name']] = dict(
        method='baseline',
        stage='final',
        settings=bench.settings_of(first),
        **_timing(1600, 16000))
    return records


def _run_finals_and_kd_tuning(bench, tmp_path, records, stop_by) -> None:
    """run_all over the finals and KD's tuning, one run at a time."""
    args = argparse.Namespace(
        methods=['kd'],
        jobs=1,
        max_runs=None,
        rerun_stale=False,
        work_dir=str(tmp_path),
        records=str(tmp_path),
        stop_by=stop_by)
    bench.run_all(('final', 'tune'), args, records)


def _finished(bench, run, **timing) -> dict:
    """The record ``execute`` returns for ``run``."""
    return dict(
        method=run['method'],
        stage=run['stage'],
        val_mIoU=1.0,
        test_mIoU=1.0,
        settings=bench.settings_of(run),
        **timing)


def test_stop_by_starts_only_runs_that_can_finish(bench, tmp_path, monkeypatch,
                                                  capsys):
    """With --stop-by, a run whose expected time exceeds what is left is
    not started (and one without an estimate neither); the others are."""
    monkeypatch.setattr(bench, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final(bench)
    # what one more final at 0.1 s/it needs, and a minute
    stop_by = time.time() + 0.1 * 16000 + bench.EVALUATION_SECONDS + 60
    started = []

    def execute(run, work, records_dir, deadline):
        assert deadline == stop_by
        started.append(run['name'])
        if run['name'] == 'final_baseline_s1':  # its own pace: too slow
            raise bench.CannotFinish('its ETA passes --stop-by')
        return _finished(bench, run, train_seconds=1.0)

    monkeypatch.setattr(bench, 'execute', execute)
    _run_finals_and_kd_tuning(bench, tmp_path, records, stop_by)
    # each start is judged when its slot frees: both other finals fit; the
    # one stopped on its pace is not started again
    assert started == ['final_baseline_s1', 'final_baseline_s2']
    out = capsys.readouterr().out
    assert 'stopped final_baseline_s1: its ETA passes' in out
    assert 'not starting tune_kd_w0.1_s100: no finished run' in out
    # the check run needs 32000 iterations at 0.1 s: more than is left
    assert 'not starting check_baseline_32000it_s0: needs ~58 min' in out


def test_a_run_another_runner_finished_is_not_started(bench, tmp_path,
                                                      monkeypatch):
    """Two runners side by side: a record that the other one wrote after
    this one started is read before each next run is chosen."""
    monkeypatch.setattr(bench, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final(bench)
    runs = {r['name']: r for r in bench.final_runs(['kd'], records)}
    started = []

    def execute(run, work, records_dir, deadline):
        started.append(run['name'])
        if run['name'] == 'final_baseline_s1':  # meanwhile, the other one
            with open(osp.join(records_dir, 'final_baseline_s2.json'),
                      'w') as f:
                json.dump(_finished(bench, runs['final_baseline_s2']), f)
        return _finished(bench, run, train_seconds=1.0)

    monkeypatch.setattr(bench, 'execute', execute)
    stop_by = time.time() + 0.1 * 16000 + bench.EVALUATION_SECONDS + 60
    _run_finals_and_kd_tuning(bench, tmp_path, records, stop_by)
    assert started == ['final_baseline_s1']


def test_observed_pace(bench):
    """A finished run's seconds per iteration over its estimate; nothing
    from a resumed run or one without an estimate."""
    record = _timing(800, 16000)
    assert bench.observed_pace(record, 0.1) == pytest.approx(0.5)
    assert bench.observed_pace(record, None) is None
    assert bench.observed_pace(dict(record, resumed_at=[8000]), 0.1) is None


def test_stop_by_learns_this_machines_pace(bench, tmp_path, monkeypatch,
                                           capsys):
    """Runs finished here at half their estimated time halve the estimates
    of the next ones: a run that would not fit at the records' pace is
    started once the machine has shown it is faster."""
    monkeypatch.setattr(bench, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final(bench)
    # older records at 0.1 s/it keep the median of the student alone's
    # rate there when the two fast finals land
    for name, record in records.items():
        if name.startswith('tune_'):
            record.update(_timing(800, 8000))
    started = []

    def execute(run, work, records_dir, deadline):
        started.append(run['name'])
        iters = bench.planned_iterations(run)
        # half the records' pace
        return _finished(bench, run, **_timing(0.05 * iters, iters))

    monkeypatch.setattr(bench, 'execute', execute)
    _run_finals_and_kd_tuning(
        bench, tmp_path, records,
        time.time() + 0.1 * 16000 + bench.EVALUATION_SECONDS + 60)
    # the 32000-iteration check needs ~58 min at the records' pace, ~32 at
    # this machine's: it is started
    assert started == [
        'final_baseline_s1', 'final_baseline_s2', 'check_baseline_32000it_s0'
    ]
    assert 'not starting check_baseline' not in capsys.readouterr().out


def test_stop_by_is_the_next_such_time(bench):
    """Later today, or tomorrow when it passed more than 12 hours ago; a
    time just passed is refused (a late start, not tomorrow's deadline)."""
    t = time.localtime()
    evening = time.mktime(
        (t.tm_year, t.tm_mon, t.tm_mday, 23, 30, 0, 0, 0, -1))
    assert bench.parse_deadline('23:45', evening) - evening == 15 * 60
    assert bench.parse_deadline('00:30', evening) - evening == 60 * 60
    with pytest.raises(argparse.ArgumentTypeError, match='min ago'):
        bench.parse_deadline('23:00', evening)
    for bad in ('25:00', '12:60', '1230', 'noon'):
        with pytest.raises(argparse.ArgumentTypeError, match='HH:MM'):
            bench.parse_deadline(bad, evening)


def test_diagnostics_table_spans_every_term_curve(bench):
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
    text = bench.diagnostics_table(['kd'], records)
    rows = [line for line in text.splitlines()[2:]]
    assert len(rows) == 2  # kd's two terms; no curves in its final
    kd = next(r for r in rows if '| loss_kd |' in r)
    assert kd.startswith('| kd | tune x3 | loss_kd | 1 -> 0.25 (0.25 .. 1) |')
    assert '| -0.2 -> 0.4 (-0.2 .. 0.4) | 70 -> 80 (70 .. 80) | 50.00 |' in kd
    fit = next(r for r in rows if '| loss_fit |' in r)
    assert fit == ('| kd | tune x3 | loss_fit |  | 2 -> 2 (2 .. 2) |  |  '
                   '| 50.00 |')
    assert '| at |' not in bench.diagnostics_table(['kd', 'cwd_logits'],
                                                   records)


def test_a_stale_record_decides_no_grid(bench):
    """A record made with other settings than the plan's is dropped before
    anything is derived from it: a stale published run leaves its method's
    second point unknown, and a stale KD grid point leaves the reference
    strength, and so every other second point, unknown."""
    methods = ['kd', 'dist']
    records = _lr_chosen(bench)
    _finish_tuning(bench, methods, records, lambda method, m: 50.0 +
                   (m == 0.3), dict(kd=2.0, dist=0.2))
    for run in bench.planned(methods, records):
        if run['name'] in records:
            records[run['name']]['settings'] = bench.settings_of(run)
    current, stale, plan = bench.current_records(methods, records)
    assert (current, stale) == (records, [])
    assert plan == bench.planned(methods, records)

    def tampered(name):
        out = {k: dict(v) for k, v in records.items()}
        out[name]['settings'] = dict(out[name]['settings'], seed=-1)
        return out

    current, stale, _ = bench.current_records(methods,
                                              tampered('tune_dist_w1_s100'))
    assert stale == ['tune_dist_w1_s100']
    assert bench.weight_grid('dist', current) is None
    assert bench.weight_grid('dist', records) == (1.0, 3.0)
    current, stale, _ = bench.current_records(methods,
                                              tampered('tune_kd_w0.3_s100'))
    assert stale == ['tune_kd_w0.3_s100']
    assert bench.reference_strength(current) is None
    assert bench.weight_grid('dist', current) is None
    # the published run is still wanted as it was made: it stays current
    assert 'tune_dist_w1_s100' in current


def test_a_run_whose_eta_passes_the_deadline_is_stopped(
        bench, tmp_path, monkeypatch):
    """The training process is watched: once the time its log's pace
    leaves plus the evaluation passes the deadline it is stopped
    (CannotFinish), not left to hold a slot; a run that keeps to it ends
    normally."""

    def line(stamp, i, eta='0:00:01'):
        return (f'12/03 {stamp} - mmengine - INFO - Iter(train) [{i:>4}/800]'
                f'  lr: 1e-2  eta: {eta}  time: 0.3\n')

    assert bench.remaining_seconds(line('10:00:00', 50)) is None
    # 50 iterations in 25 s: 0.5 s per iteration, 700 left; mmengine's ETA
    # (inflated after a resume: it counts the dataloader's advance) unread
    two = line('10:00:00', 50, '9:00:00') + line('10:00:25', 100, '5:00:00')
    assert bench.remaining_seconds(two) == pytest.approx(350)
    # the pace from the first line of the attempt on: the start-up before
    # it is not counted
    three = two + line('10:00:50', 150)
    assert bench.remaining_seconds(three) == pytest.approx(325)
    # across a month's end
    assert bench.remaining_seconds(
        line('23:59:50', 50).replace('12/03', '11/30') +
        line('00:00:10', 100).replace('12/03', '12/01')) == pytest.approx(280)
    monkeypatch.setattr(bench, 'WATCH_SECONDS', 0.1)

    def trainer(seconds_per_50):
        lines = [
            line(f'10:{m:02d}:{s:02d}', i)
            for i, (m,
                    s) in zip((50, 100), ((0, 0), divmod(seconds_per_50, 60)))
        ]
        return [
            sys.executable, '-c',
            f'import time; print({lines!r}[0], end="", flush=True); '
            f'print({lines!r}[1], end="", flush=True); time.sleep(30)'
        ]

    log = tmp_path / 'train.log'
    # an old try, quick: not counted
    log.write_text(line('09:00:00', 10) + line('09:00:01', 700))
    deadline = time.time() + bench.EVALUATION_SECONDS + 600
    start = time.time()
    with pytest.raises(bench.CannotFinish, match='passes --stop-by'):
        # 1 s per iteration, 700 left: past the deadline
        bench.train_until(trainer(50), {}, str(log), deadline)
    assert time.time() - start < 25  # stopped, not waited for
    quick = [sys.executable, '-c', f'print({line("10:00:00", 1)!r})']
    assert bench.train_until(quick, {}, str(log), deadline) == 0
    failing = [sys.executable, '-c', 'exit(3)']
    assert bench.train_until(failing, {}, str(log), deadline) == 3


def test_run_refuses_only_stale_records_of_its_stages(bench, tmp_path,
                                                      monkeypatch):
    """``run --stage tune`` starts beside a stale final record (it cannot
    touch it, and the record decides nothing); ``run --stage final`` and
    ``run`` of every stage refuse it, naming --rerun-stale."""
    monkeypatch.setattr(bench, 'teacher_ready', lambda: True)
    records = _lr_records(bench)
    first = bench.final_runs([], records)[0]
    records[first['name']] = dict(
        method='baseline',
        stage='final',
        settings=dict(bench.settings_of(first), seed=-1))
    args = argparse.Namespace(
        methods=['kd'],
        jobs=1,
        max_runs=0,
        rerun_stale=False,
        work_dir=str(tmp_path),
        records=str(tmp_path),
        stop_by=None)
    bench.run_all(('tune', ), args, records)  # starts nothing, refuses not
    for stages in (('final', ), bench.STAGES):
        with pytest.raises(SystemExit, match=f"{first['name']}.*--rerun"):
            bench.run_all(stages, args, records)
