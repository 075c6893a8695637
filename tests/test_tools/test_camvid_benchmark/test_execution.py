# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.execution: one runner per run, a work dir holds one
run's settings, a run that cannot finish is stopped."""
import json
import os
import os.path as osp
import sys
import threading
import time

import pytest
import torch
from camvid_benchmark import execution
from camvid_benchmark.execution import (checkpoint_iteration, claimed, execute,
                                        remaining_seconds, resumable_iteration,
                                        run_watched, save_teacher_weights,
                                        set_aside_other_run, work_settings)
from camvid_benchmark.plan import lr_runs, schedule_options, tune_runs
from camvid_benchmark.protocol import BASELINE_CONFIG, TEACHER_CONFIG
from camvid_benchmark.records import settings_of
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from ...conftest import REPO
from .helpers import lr_chosen


def test_a_run_is_trained_by_one_runner_at_a_time(tmp_path):
    work = str(tmp_path / 'tune_kd_w1_s100')
    with claimed(work):
        with pytest.raises(execution.RunningElsewhere, match='being trained'):
            with claimed(work):
                pass
    assert not osp.exists(osp.join(work, 'RUNNING'))  # released
    dead = 2**22 + 12345  # above Linux's pid_max default: no such process
    with open(osp.join(work, 'RUNNING'), 'w') as f:
        f.write(str(dead))
    with claimed(work):  # a stale lock is taken over
        with open(osp.join(work, 'RUNNING')) as f:
            assert int(f.read()) == os.getpid()


def test_a_work_dir_resumes_only_a_run_of_the_same_settings(tmp_path):
    """A final run keeps its name when its settings change (a new chosen
    weight): rerunning it must not --resume the old run's checkpoint."""
    run = lr_runs()[0]
    work = str(tmp_path / run['name'])
    os.makedirs(work)
    for name, text in (('RUNNING', str(os.getpid())),
                       ('last_checkpoint', f'{work}/iter_4000.pth')):
        with open(osp.join(work, name), 'w') as f:
            f.write(text)
    # a work dir from before settings.json whose run never finished (no
    # record): continued as it is, and its settings written down
    assert set_aside_other_run(run, work, None) is None
    assert checkpoint_iteration(work) == 4000
    assert work_settings(work, None) == settings_of(run)
    assert set_aside_other_run(run, work, None) is None  # the same
    # rerun with other settings: the old run's files are kept aside
    other = dict(
        run, options=dict(run['options'], **{'train_cfg.max_iters': 10}))
    aside = set_aside_other_run(other, work, None)
    assert aside is not None and osp.dirname(aside) == work
    assert sorted(os.listdir(work)) == sorted(
        ['RUNNING', execution.WORK_SETTINGS,
         osp.basename(aside)])
    assert checkpoint_iteration(work) == 0  # starts from scratch
    assert checkpoint_iteration(aside) == 4000
    assert work_settings(aside, None) == settings_of(run)
    assert work_settings(work, None) == settings_of(other)
    # a work dir from before settings.json whose run finished: its record
    # says what it holds
    legacy = str(tmp_path / 'legacy')
    os.makedirs(legacy)
    with open(osp.join(legacy, 'last_checkpoint'), 'w') as f:
        f.write('iter_16000.pth')
    finished = dict(settings=settings_of(run))
    assert resumable_iteration(run, legacy, finished) == 16000
    # the expected time of a rerun counts none of the old run's iterations
    assert resumable_iteration(other, legacy, finished) == 0
    assert set_aside_other_run(run, legacy, finished) is None
    os.remove(osp.join(legacy, execution.WORK_SETTINGS))
    assert set_aside_other_run(other, legacy, finished) is not None
    assert checkpoint_iteration(legacy) == 0
    # a work dir with nothing in it (records from elsewhere): nothing moved
    empty = str(tmp_path / 'empty')
    os.makedirs(empty)
    assert set_aside_other_run(other, empty, finished) is None
    assert os.listdir(empty) == [execution.WORK_SETTINGS]
    assert resumable_iteration(other, str(tmp_path / 'none'), finished) == 0
    # a settings file that cannot be read holds no run's settings
    with open(osp.join(empty, execution.WORK_SETTINGS), 'w') as f:
        f.write('{"config": ')
    assert set_aside_other_run(other, empty, None) is not None
    assert work_settings(empty, None) == settings_of(other)


def test_checkpoint_iteration_is_where_resume_continues(tmp_path):
    assert checkpoint_iteration(str(tmp_path / 'never_started')) == 0
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4000.pth'))
    assert checkpoint_iteration(str(tmp_path)) == 4000
    (tmp_path / 'last_checkpoint').write_text('')
    assert checkpoint_iteration(str(tmp_path)) == 0


def test_teacher_file_holds_the_weights_alone(tmp_path):
    """The committed teacher is its model's weights, loadable weights-only
    and strictly, without the optimizer state of the training checkpoint."""
    from mmseg_kd.utils.checkpoint import load_checkpoint_file
    cfg = Config.fromfile(osp.join(REPO, TEACHER_CONFIG))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    training = dict(
        meta=dict(iter=16000),
        state_dict=model.state_dict(),
        optimizer=dict(state={0: dict(momentum_buffer=torch.ones(3))}))
    torch.save(training, tmp_path / 'iter_16000.pth')
    target = tmp_path / 'teacher' / 'teacher.pth'
    save_teacher_weights(str(tmp_path / 'iter_16000.pth'), str(target))
    saved = load_checkpoint_file(str(target), 'teacher')
    assert list(saved) == ['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(saved['state_dict'][key], value), key


def test_a_run_whose_eta_passes_the_deadline_is_stopped(tmp_path, monkeypatch):
    """The training process is watched: once the time its log's pace
    leaves plus the evaluation passes the deadline it is stopped
    (CannotFinish), not left to hold a slot; a run that keeps to it ends
    normally."""

    def line(stamp, i, eta='0:00:01'):
        return (f'12/03 {stamp} - mmengine - INFO - Iter(train) [{i:>4}/800]'
                f'  lr: 1e-2  eta: {eta}  time: 0.3\n')

    assert remaining_seconds(line('10:00:00', 50)) is None
    # 50 iterations in 25 s: 0.5 s per iteration, 700 left; mmengine's ETA
    # (inflated after a resume: it counts the dataloader's advance) unread
    two = line('10:00:00', 50, '9:00:00') + line('10:00:25', 100, '5:00:00')
    assert remaining_seconds(two) == pytest.approx(350)
    # the pace from the first line of the attempt on: the start-up before
    # it is not counted
    three = two + line('10:00:50', 150)
    assert remaining_seconds(three) == pytest.approx(325)
    # across a month's end
    assert remaining_seconds(
        line('23:59:50', 50).replace('12/03', '11/30') +
        line('00:00:10', 100).replace('12/03', '12/01')) == pytest.approx(280)
    # judged only over a long enough stretch: a few slow minutes (other
    # work on the cores) do not stop a run
    assert remaining_seconds(three, min_span=60) is None
    assert remaining_seconds(three, min_span=50) == pytest.approx(325)
    monkeypatch.setattr(execution, 'WATCH_SECONDS', 0.1)
    monkeypatch.setattr(execution, 'PACE_SPAN_SECONDS', 20.0)

    def trainer(seconds_per_50, sleep=30):
        lines = [
            line(f'10:{m:02d}:{s:02d}', i)
            for i, (m,
                    s) in zip((50, 100), ((0, 0), divmod(seconds_per_50, 60)))
        ]
        return [
            sys.executable, '-c',
            f'import time; print({lines!r}[0], end="", flush=True); '
            f'print({lines!r}[1], end="", flush=True); time.sleep({sleep})'
        ]

    log = tmp_path / 'train.log'
    # an old try, quick: not counted
    log.write_text(line('09:00:00', 10) + line('09:00:01', 700))
    deadline = time.time() + execution.EVALUATION_SECONDS + 600
    start = time.time()
    with pytest.raises(execution.CannotFinish, match='passes --stop-by'):
        # 1 s per iteration, 700 left: past the deadline
        run_watched(trainer(50), {}, str(log), execution.finish_by(deadline))
    assert time.time() - start < 25  # stopped, not waited for
    # the same slow pace over a stretch shorter than PACE_SPAN_SECONDS
    # (0.3 s per iteration, 210 s left against 100): not judged yet
    near = time.time() + execution.EVALUATION_SECONDS + 100
    assert run_watched(
        trainer(15, sleep=1), {}, str(log), execution.finish_by(near)) == 0
    quick = [sys.executable, '-c', f'print({line("10:00:00", 1)!r})']
    assert run_watched(quick, {}, str(log), execution.finish_by(deadline)) == 0
    failing = [sys.executable, '-c', 'exit(3)']
    assert run_watched(failing, {}, str(log),
                       execution.finish_by(deadline)) == 3


def _train_line(stamp, i, total=16000):
    return (f'12/03 {stamp} - mmengine - INFO - Iter(train) '
            f'[{i:>5}/{total}]  lr: 1e-2  eta: 0:00:01  time: 0.3\n')


def test_a_carried_over_run_trains_to_its_last_checkpoint_before_the_deadline(
        tmp_path, monkeypatch):
    """save_by: a run that cannot finish trains on while its next
    checkpoint lands before the deadline (its log's pace), and is stopped
    (CarriedOver, naming the checkpoint the next run resumes from) once it
    would not, or at the deadline."""
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_1000.pth'))
    # 600 iterations in 180 s: 0.3 s each; at 1600, the next checkpoint
    # (2000) is 120 s away, and it must land with the margin to spare
    log = _train_line('10:00:00', 1000) + _train_line('10:03:00', 1600)
    need = 120 + execution.CHECKPOINT_MARGIN_SECONDS
    rule = execution.save_by(1000.0, str(tmp_path), 1000)
    assert rule(log, 1000.0 - need - 1) is None
    stop = rule(log, 1000.0 - need + 1)
    assert isinstance(stop,
                      execution.CarriedOver) and 'iteration 1000' in str(stop)
    # while the checkpoint of 2000 is being written: not stopped
    writing = log + _train_line('10:04:00', 2000)
    assert rule(writing, 1000.0 - 10) is None
    # no pace yet (too short a stretch): only the deadline stops it
    short = _train_line('10:00:00', 1000) + _train_line('10:01:00', 1200)
    assert rule(short, 999.0) is None
    assert isinstance(rule(short, 1000.0), execution.CarriedOver)
    assert isinstance(rule('', 1000.0), execution.CarriedOver)
    # the last checkpoint is followed by the evaluation: it needs its time
    ending = log.replace('/16000]', '/2000]')
    need_last = need + execution.EVALUATION_SECONDS
    assert rule(ending, 1000.0 - need_last - 1) is None
    assert rule(ending, 1000.0 - need_last + 1) is not None
    # the rule a run gets: the protocol's checkpoint interval, or its pace
    # against the deadline, or none
    run = lr_runs()[0]
    assert execution.stop_rule(run, str(tmp_path), None, True) is None
    carried = execution.stop_rule(run, str(tmp_path), 1000.0, True)
    assert carried(log, 1000.0 - need - 1) is None  # every 1000 iterations
    assert carried(log, 1000.0 - need + 1) is not None
    paced = execution.stop_rule(run, str(tmp_path), 1000.0, False)
    assert paced(log, 1000.0 - need - 1) is None  # its pace: not judged yet
    # the watch raises the rule's reason and stops the process
    monkeypatch.setattr(execution, 'WATCH_SECONDS', 0.1)
    sleeper = [sys.executable, '-c', 'import time; time.sleep(30)']
    start = time.time()
    with pytest.raises(execution.CarriedOver):
        run_watched(sleeper, {}, str(tmp_path / 'train.log'),
                    execution.save_by(time.time() + 0.5, str(tmp_path), 1000))
    assert time.time() - start < 20


def test_a_run_stops_when_its_runner_is_asked_to(tmp_path, monkeypatch):
    """Once the runner is asked to stop (the event its signal handler sets),
    a training or an evaluation is stopped at the watch's next look, its
    process ended (Stopped), and no other is started; until then, a
    command's exit code is returned."""
    monkeypatch.setattr(execution, 'WATCH_SECONDS', 0.1)
    log, pid_file = str(tmp_path / 'train.log'), tmp_path / 'pid'
    sleeper = [
        sys.executable, '-c', 'import os, time; '
        f'open({str(pid_file)!r}, "w").write(str(os.getpid())); '
        'time.sleep(30)'
    ]
    requested = threading.Event()
    assert run_watched([sys.executable, '-c', 'exit(3)'], {}, log, None,
                       requested) == 3
    timer = threading.Timer(1.0, requested.set)
    timer.start()
    start = time.time()
    with pytest.raises(execution.Stopped, match='last checkpoint'):
        run_watched(sleeper, {}, log, None, requested)
    assert time.time() - start < 20
    timer.join()
    with pytest.raises(ProcessLookupError):  # ended and reaped
        os.kill(int(pid_file.read_text()), 0)

    def not_to_be_started(*args, **kwargs):
        raise AssertionError('started after the request')

    monkeypatch.setattr(execution.subprocess, 'Popen', not_to_be_started)
    with pytest.raises(execution.Stopped):
        run_watched(sleeper, {}, log, None, requested)


def test_a_runs_training_time_adds_up_over_the_attempts_it_resumes(tmp_path):
    """A run carried over trains in several attempts: its record's time is
    their sum, kept in its work dir between them; a run that starts over
    (no checkpoint) counts from zero, whatever attempts came before."""
    work = str(tmp_path)
    execution.write_training_seconds(work, 600.25)
    assert execution.earlier_training_seconds(work) == 0.0  # no checkpoint
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_1000.pth'))
    assert execution.earlier_training_seconds(work) == 600.25
    (tmp_path / 'training_seconds.txt').write_text('garbage')
    assert execution.earlier_training_seconds(work) == 0.0


def test_a_run_trains_evaluates_and_writes_its_record(tmp_path, camvid_like,
                                                      monkeypatch):
    """One run end to end, on the generated miniature CamVid: the protocol's
    student alone for 4 iterations with tools/train.py, evaluated with
    tools/test.py on val and test, and its record on disk with what the
    issue asks of one (method, seed, scores, per-class IoU, settings, train
    time, code version) and its curves."""
    monkeypatch.setenv('CAMVID_ROOT', camvid_like)
    run = dict(
        name='final_baseline_s0',
        stage='final',
        method='baseline',
        seed=0,
        config=BASELINE_CONFIG,
        options=dict(
            schedule_options(BASELINE_CONFIG, 4), **{
                'train_cfg.val_interval': 2,
                'default_hooks.logger.interval': 1,
                'train_dataloader.batch_size': 2
            }),
        splits=('val', 'test'))
    records = tmp_path / 'records'
    record = execute(run, str(tmp_path / 'work'), str(records))
    assert os.listdir(records) == ['final_baseline_s0.json']  # whole
    with open(records / 'final_baseline_s0.json') as f:
        assert json.load(f) == record
    assert (record['method'], record['seed'], record['stage']) == ('baseline',
                                                                   0, 'final')
    assert record['settings'] == settings_of(run)
    for split in ('val', 'test'):
        assert 0.0 <= record[f'{split}_mIoU'] <= 100.0
        assert 'Sky' in record[f'{split}_per_class_IoU']
    assert record['train_seconds'] > 0 and record['resumed_at'] == []
    # kept in the work dir, where a next attempt would add to it
    kept = tmp_path / 'work' / run['name'] / 'training_seconds.txt'
    assert record['train_seconds'] == round(float(kept.read_text()))
    assert record['code_version']
    assert set(record['val_curve']) == {'2', '4'}
    assert set(record['train_curves']['loss']) == {'1000'}  # one window
    assert checkpoint_iteration(str(tmp_path / 'work' / run['name'])) == 4


def test_a_record_says_which_weights_its_run_trained_with(tmp_path):
    """A grid point's weights are the published ones times its multiple
    (per term at a per-term point); a weight set in training is recorded as
    its settings beside the published weights of the row it is compared
    with (whose config has numbers)."""
    trained = execution.Trained(checkpoint='', seconds=1.0, resumed_at=[])
    tuned = [
        r for r in tune_runs(['dist'], lr_chosen())
        if r['name'] == 'tune_dist_w1_s100'
    ][0]
    point = dict(tuned, multiple=dict(loss_dist=0.1, loss_dist_aux=0.01))
    record = execution.make_record(point, str(tmp_path), trained, {})
    assert record['published_weights'] == dict(
        loss_dist=1.0, loss_dist_aux=0.4)
    assert record['loss_weights'] == pytest.approx(
        dict(loss_dist=0.1, loss_dist_aux=0.004))
    calibrated = next(
        r for r in tune_runs(['dist_calibrated'], lr_chosen())
        if r['method'] == 'dist_calibrated')
    record = execution.make_record(calibrated, str(tmp_path), trained, {})
    assert record['published_weights'] == dict(
        loss_dist=1.0, loss_dist_aux=0.4)
    assert record['loss_weights'] == {
        k: dict(type='Calibrated', ratio=1.5, on='grad', steps=10)
        for k in ('loss_dist', 'loss_dist_aux')
    }
    assert record['stage'] == 'tune' and record['multiple'] == 1.0
