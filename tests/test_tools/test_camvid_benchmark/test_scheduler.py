# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.scheduler: the next run, expected times and
--stop-by."""
import argparse
import json
import os
import os.path as osp
import signal
import threading
import time

import pytest
from camvid_benchmark import scheduler
from camvid_benchmark.execution import (EVALUATION_SECONDS, CannotFinish,
                                        CarriedOver, Stopped)
from camvid_benchmark.plan import final_runs, lr_runs, tune_runs
from camvid_benchmark.protocol import (BASELINE_CONFIG, CONFIGS, FINAL_SEEDS,
                                       METHODS, STAGES)
from camvid_benchmark.records import iterations_of, settings_of
from camvid_benchmark.scheduler import (expected_seconds, next_run,
                                        observed_pace, parse_deadline,
                                        planned_iterations, run_all, work_left)

from .helpers import lr_chosen, tuned_record


def _lr_records():
    """Full records (method, stage, settings) of the learning-rate runs,
    0.05 the best."""
    return {
        r['name']:
        dict(
            lr_chosen()[r['name']],
            method='baseline',
            stage='tune',
            settings=settings_of(r))
        for r in lr_runs()
    }


def _timing(seconds: float, iterations: int, resumed=()) -> dict:
    """The keys a finished run's rate is read from (uninterrupted unless
    ``resumed`` names the iterations it was resumed at)."""
    return dict(
        train_seconds=seconds,
        resumed_at=list(resumed),
        train_curves={'loss': {
            str(iterations): 1.0
        }})


def _records_with_a_timed_final() -> dict:
    """The learning-rate records and, to estimate from, the student alone's
    first final run: 16000 iterations at 0.1 s/it."""
    records = _lr_records()
    first = final_runs([], records)[0]
    records[first['name']] = dict(
        method='baseline',
        stage='final',
        settings=settings_of(first),
        **_timing(1600, 16000))
    return records


def _one_more_final_fits() -> float:
    """A --stop-by with the time one more final at 0.1 s/it needs (the
    rate of :func:`_records_with_a_timed_final`), and a minute."""
    return time.time() + 0.1 * 16000 + EVALUATION_SECONDS + 60


def _run_finals_and_kd_tuning(tmp_path,
                              records,
                              stop_by,
                              carry_over=False,
                              jobs=1) -> None:
    """run_all over the finals and KD's tuning, ``jobs`` runs at a time."""
    args = argparse.Namespace(
        methods=['kd'],
        jobs=jobs,
        max_runs=None,
        rerun_stale=False,
        work_dir=str(tmp_path),
        records=str(tmp_path),
        stop_by=stop_by,
        carry_over=carry_over)
    run_all(('final', 'tune'), args, records)


def _finished(run, **timing) -> dict:
    """The record ``execute`` returns for ``run``."""
    return dict(
        method=run['method'],
        stage=run['stage'],
        val_mIoU=1.0,
        test_mIoU=1.0,
        settings=settings_of(run),
        **timing)


def test_next_run_completes_rows_before_more_tuning(monkeypatch):
    """A method's finals come before the next method's grid; runs held
    elsewhere or running here are passed over."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = {}
    methods = ['kd', 'cwd_logits']
    stages = STAGES
    first = next_run(stages, methods, records, set())
    assert first['name'] == 'teacher_teacher_s0'

    def finish(run, val=40.0):
        records[run['name']] = dict(
            tuned_record(run, val), settings=settings_of(run))

    finish(first)
    for r in lr_runs():
        finish(r, 50.0 if r['lr'] == 0.05 else 40.0)
    # the student alone's finals, then kd's grid
    assert next_run(stages, methods, records,
                    set())['name'] == 'final_baseline_s0'
    busy = {f'final_baseline_s{s}' for s in FINAL_SEEDS}
    assert next_run(stages, methods, records,
                    busy)['name'] == 'tune_kd_w0.1_s100'
    for r in tune_runs(['kd'], records):
        if r['method'] == 'kd':
            finish(r)
    # kd's grid is complete: its finals before cwd_logits' grid
    assert next_run(stages, methods, records, busy)['name'] == 'final_kd_s0'
    busy |= {f'final_kd_s{s}' for s in FINAL_SEEDS}
    published = next_run(stages, methods, records, busy)
    assert published['name'] == 'tune_cwd_logits_w1_s100'
    # one stage only
    assert next_run(('tune', ), methods, records,
                    set())['name'] == 'tune_cwd_logits_w1_s100'
    # its second point waits for the published run, then is planned
    busy.add(published['name'])
    waiting = next_run(stages, methods, records, busy)
    assert waiting['stage'] == 'check'  # nothing of cwd_logits to run
    finish(published)
    # kd all tied: its published weight, strength 1.0, as cwd_logits' at
    # x1; the second point is then the neighbour on the scale
    assert next_run(stages, methods, records,
                    busy)['name'] == 'tune_cwd_logits_w3_s100'


def test_expected_time_from_the_records():
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
    extra = EVALUATION_SECONDS

    def run(method, iters=None):
        options = {} if iters is None else {'train_cfg.max_iters': iters}
        config = (
            BASELINE_CONFIG if method == 'baseline' else osp.join(
                CONFIGS, METHODS[method]))
        return dict(method=method, options=options, config=config)

    assert iterations_of(records['a']) == 8000
    assert expected_seconds(run('kd'),
                            records) == pytest.approx(0.3 * 16000 + extra)
    # no record of its own: the distillation runs of the PSPNet student
    assert expected_seconds(run('cwd_logits', 8000),
                            records) == pytest.approx(2400 + extra)
    assert expected_seconds(run('baseline', 32000),
                            records) == pytest.approx(3200 + extra)
    # the ESPNet row has no distillation run of its student to go by: its
    # student alone's rate plus what the teacher adds to the PSPNet's
    assert expected_seconds(
        run('espnet_skd_pixel_pair'),
        records) == pytest.approx((0.3 + 0.3 - 0.1) * 16000 + extra)
    del records['c']
    assert expected_seconds(run('espnet_skd_pixel_pair'), records) is None
    # a run resumed from a checkpoint has only the rest of it to train
    assert expected_seconds(
        run('kd'), records, done=12000) == pytest.approx(0.3 * 4000 + extra)


def test_observed_pace():
    """A finished run's seconds per iteration over its estimate; nothing
    from a resumed run or one without an estimate."""
    record = _timing(800, 16000)
    assert observed_pace(record, 0.1) == pytest.approx(0.5)
    assert observed_pace(record, None) is None
    assert observed_pace(dict(record, resumed_at=[8000]), 0.1) is None


def test_stop_by_starts_only_runs_that_can_finish(tmp_path, monkeypatch,
                                                  capsys):
    """With --stop-by, a run whose expected time exceeds what is left is
    not started (and one without an estimate neither); the others are."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final()
    stop_by = _one_more_final_fits()
    started = []

    def execute(run, work, records_dir, deadline, carry_over=False, **_):
        assert deadline == stop_by
        started.append(run['name'])
        if run['name'] == 'final_baseline_s1':  # its own pace: too slow
            raise CannotFinish('its ETA passes --stop-by')
        return _finished(run, train_seconds=1.0)

    monkeypatch.setattr(scheduler, 'execute', execute)
    _run_finals_and_kd_tuning(tmp_path, records, stop_by)
    # each start is judged when its slot frees: both other finals fit; the
    # one stopped on its pace is not started again
    assert started == ['final_baseline_s1', 'final_baseline_s2']
    out = capsys.readouterr().out
    assert 'stopped final_baseline_s1: its ETA passes' in out
    assert 'not starting tune_kd_w0.1_s100: no finished run' in out
    # the check run needs 32000 iterations at 0.1 s: more than is left
    assert 'not starting check_baseline_32000it_s0: needs ~58 min' in out


def test_carry_over_gives_a_slot_no_run_can_finish_in_to_a_long_run(
        tmp_path, monkeypatch, capsys):
    """With --carry-over, once no run that can finish by --stop-by is
    left, the next run that cannot (the plan's order) is started, to train
    until its last checkpoint before --stop-by; one without an estimate, or
    without the time to reach its next checkpoint, is not."""
    started, records = [], _records_with_a_timed_final()
    stop_by = _one_more_final_fits()
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)

    def execute(run, work, records_dir, deadline, carry_over=False, **_):
        assert deadline == stop_by and carry_over  # every run may carry over
        started.append(run['name'])
        if run['name'].startswith('check_'):  # 58 min: cannot finish
            raise CarriedOver('stopped before --stop-by at its checkpoint '
                              'of iteration 1000; the next run resumes it')
        return _finished(run, train_seconds=1.0)

    monkeypatch.setattr(scheduler, 'execute', execute)
    _run_finals_and_kd_tuning(tmp_path, records, stop_by, carry_over=True)
    # the 32000-iteration check cannot finish (~58 min) but reaches its
    # first checkpoint (1000 iterations at 0.1 s, and the start-up); KD's
    # tuning has no estimate at all
    assert started == [
        'final_baseline_s1', 'final_baseline_s2', 'check_baseline_32000it_s0'
    ]
    out = capsys.readouterr().out
    assert 'unless no run that can is left (--carry-over)' in out
    assert 'started check_baseline_32000it_s0 (carried over' in out
    assert 'check_baseline_32000it_s0: stopped before --stop-by' in out
    assert ('not carrying over tune_kd_w0.1_s100: no finished run to '
            'estimate') in out
    # too little time left for even a checkpoint: nothing is started
    started.clear()
    records = _records_with_a_timed_final()
    stop_by = time.time() + 0.1 * 1000 + EVALUATION_SECONDS - 60
    _run_finals_and_kd_tuning(tmp_path, records, stop_by, carry_over=True)
    assert started == []
    assert 'not carrying over final_baseline_s1: its next checkpoint needs ' \
        '~7 min, 6 left' in capsys.readouterr().out


def test_carry_over_needs_stop_by(capsys):
    import camvid_quality
    with pytest.raises(SystemExit) as exit:
        camvid_quality.main(['run', '--carry-over'])
    assert exit.value.code == 2  # the parser's
    assert '--carry-over needs --stop-by' in capsys.readouterr().err


def test_a_run_another_runner_finished_is_not_started(tmp_path, monkeypatch):
    """Two runners side by side: a record that the other one wrote after
    this one started is read before each next run is chosen."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final()
    runs = {r['name']: r for r in final_runs(['kd'], records)}
    started = []

    def execute(run, work, records_dir, deadline, carry_over=False, **_):
        started.append(run['name'])
        if run['name'] == 'final_baseline_s1':  # meanwhile, the other one
            with open(osp.join(records_dir, 'final_baseline_s2.json'),
                      'w') as f:
                json.dump(_finished(runs['final_baseline_s2']), f)
        return _finished(run, train_seconds=1.0)

    monkeypatch.setattr(scheduler, 'execute', execute)
    stop_by = _one_more_final_fits()
    _run_finals_and_kd_tuning(tmp_path, records, stop_by)
    assert started == ['final_baseline_s1']


def test_stop_by_learns_this_machines_pace(tmp_path, monkeypatch, capsys):
    """Runs finished here at half their estimated time halve the estimates
    of the next ones: a run that would not fit at the records' pace is
    started once the machine has shown it is faster."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final()
    # older records at 0.1 s/it keep the median of the student alone's
    # rate there when the two fast finals land
    for name, record in records.items():
        if name.startswith('tune_'):
            record.update(_timing(800, 8000))
    started = []

    def execute(run, work, records_dir, deadline, carry_over=False, **_):
        started.append(run['name'])
        iters = planned_iterations(run)
        # half the records' pace
        return _finished(run, **_timing(0.05 * iters, iters))

    monkeypatch.setattr(scheduler, 'execute', execute)
    _run_finals_and_kd_tuning(tmp_path, records, _one_more_final_fits())
    # the 32000-iteration check needs ~58 min at the records' pace, ~32 at
    # this machine's: it is started
    assert started == [
        'final_baseline_s1', 'final_baseline_s2', 'check_baseline_32000it_s0'
    ]
    assert 'not starting check_baseline' not in capsys.readouterr().out


def test_a_methods_first_runs_teach_no_pace(tmp_path, monkeypatch, capsys):
    """Runs estimated from their kind's records (KD's, with only CWD's to go
    by) and finished ten times faster say how KD differs from CWD, not how
    fast this machine is: the 32000-iteration check, ~58 min at the records'
    pace, is still not started."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final()
    for name, record in records.items():
        if name.startswith('tune_'):
            record.update(_timing(800, 8000))
    records['tune_cwd_logits_w1_s100'] = dict(
        method='cwd_logits', stage='tune', **_timing(800, 8000))
    started = []

    def execute(run, work, records_dir, deadline, carry_over=False, **_):
        started.append(run['name'])
        iters = planned_iterations(run)
        rate = 0.01 if run['method'] == 'kd' else 0.1
        return dict(
            tuned_record(run, 50.0),
            **_finished(run, **_timing(rate * iters, iters)))

    monkeypatch.setattr(scheduler, 'execute', execute)
    _run_finals_and_kd_tuning(tmp_path, records, _one_more_final_fits())
    kd_runs = [n for n in started if '_kd_' in n]
    assert len(kd_runs) >= 3  # enough to outvote the two finals' pace
    assert 'check_baseline_32000it_s0' not in started
    assert 'not starting check_baseline_32000it_s0: needs ~58 min (pace ' \
        'x1.00)' in capsys.readouterr().out


def test_a_signal_stops_the_runner_and_its_runs(tmp_path, monkeypatch, capsys):
    """SIGTERM (or Ctrl-C) does not kill the runner outright: it sets the
    event its runs are watched with; the running runs stop (Stopped, or a
    command the signal ended first) and no other run is started; the
    runner then exits with an error saying so; the earlier handlers are
    back afterwards, and a signal ignored before stays ignored."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = _records_with_a_timed_final()
    started = []
    handlers = {
        s: signal.getsignal(s)
        for s in (signal.SIGTERM, signal.SIGINT)
    }
    both_running = threading.Barrier(2, timeout=10)

    def execute(run, work, records_dir, deadline, carry_over, *, requested):
        started.append(run['name'])
        both_running.wait()
        if run['name'] == 'final_baseline_s1':
            os.kill(os.getpid(), signal.SIGTERM)
            assert requested.wait(10)  # the handler runs in the main thread
            raise Stopped('stopped on request; its last checkpoint is kept')
        assert requested.wait(10)
        raise RuntimeError(f'{run["name"]}: evaluation on test failed')

    monkeypatch.setattr(scheduler, 'execute', execute)
    with pytest.raises(SystemExit, match='Stopped on request'):
        _run_finals_and_kd_tuning(tmp_path, records, None, jobs=2)
    assert started == ['final_baseline_s1', 'final_baseline_s2']
    out = ''
    for _ in range(50):  # the handler prints from a thread of its own
        out += capsys.readouterr().out
        if 'SIGTERM: stopping' in out:
            break
        time.sleep(0.1)
    assert 'SIGTERM: stopping; each run stops within' in out
    assert 'final_baseline_s1: stopped on request' in out
    assert ('stopped on request: final_baseline_s2: evaluation on test '
            'failed') in out
    assert 'FAILED' not in out
    assert {s: signal.getsignal(s) for s in handlers} == handlers
    # started with SIGINT ignored (a background job): it stays ignored
    monkeypatch.setattr(signal, 'SIGINT', signal.SIGUSR1)  # a harmless one
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        with scheduler.stop_on_signals():
            assert signal.getsignal(signal.SIGUSR1) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)


def test_an_error_in_the_runner_stops_its_runs():
    """An error leaving the runner's loop sets the stop event first, so that
    its trainings stop instead of being waited for."""
    seen = []
    with pytest.raises(KeyError):
        with scheduler.stop_on_signals() as requested:
            seen.append(requested)
            raise KeyError('a bug')
    assert seen[0].is_set()


def test_stop_by_is_the_next_such_time():
    """Later today, or tomorrow when it passed more than 12 hours ago; a
    time just passed is refused (a late start, not tomorrow's deadline)."""
    t = time.localtime()
    evening = time.mktime(
        (t.tm_year, t.tm_mon, t.tm_mday, 23, 30, 0, 0, 0, -1))
    assert parse_deadline('23:45', evening) - evening == 15 * 60
    assert parse_deadline('00:30', evening) - evening == 60 * 60
    with pytest.raises(argparse.ArgumentTypeError, match='min ago'):
        parse_deadline('23:00', evening)
    for bad in ('25:00', '12:60', '1230', 'noon'):
        with pytest.raises(argparse.ArgumentTypeError, match='HH:MM'):
            parse_deadline(bad, evening)


def test_run_refuses_only_stale_records_of_its_stages(tmp_path, monkeypatch):
    """``run --stage tune`` starts beside a stale final record (it cannot
    touch it, and the record decides nothing); ``run --stage final`` and
    ``run`` of every stage refuse it, naming --rerun-stale."""
    monkeypatch.setattr(scheduler, 'teacher_ready', lambda: True)
    records = _lr_records()
    first = final_runs([], records)[0]
    records[first['name']] = dict(
        method='baseline',
        stage='final',
        settings=dict(settings_of(first), seed=-1))
    args = argparse.Namespace(
        methods=['kd'],
        jobs=1,
        max_runs=0,
        rerun_stale=False,
        work_dir=str(tmp_path),
        records=str(tmp_path),
        stop_by=None,
        carry_over=False)
    run_all(('tune', ), args, records)  # starts nothing, refuses not
    for stages in (('final', ), STAGES):
        with pytest.raises(SystemExit, match=f"{first['name']}.*--rerun"):
            run_all(stages, args, records)


def test_work_left_counts_what_each_run_still_needs(tmp_path):
    """``plan``'s budget: each run's expected time from the checkpoint it
    would resume from; a run without an estimate is counted apart."""
    records = _records_with_a_timed_final()  # the student alone: 0.1 s/it
    finals = final_runs([], records)[1:]  # seeds 1 and 2, 16000 its each
    work = tmp_path / finals[0]['name']
    work.mkdir()
    (work / 'last_checkpoint').write_text(str(work / 'iter_12000.pth'))
    kd = next(r for r in tune_runs(['kd'], records) if r['stage'] == 'tune')
    seconds, unknown = work_left(finals + [kd], records, str(tmp_path),
                                 str(tmp_path))
    assert seconds == pytest.approx(0.1 * (4000 + 16000) +
                                    2 * EVALUATION_SECONDS)
    assert unknown == 1  # no distillation run yet to estimate KD's from


def test_plan_says_where_a_run_would_resume(tmp_path, capsys):
    """`plan` notes the checkpoint a run not done would resume from (a run
    carried over from an earlier session), and nothing for one that starts
    from scratch."""
    import camvid_quality
    records = tmp_path / 'records'
    records.mkdir()
    camvid_quality.main(
        ['plan', '--records',
         str(records), '--work-dir',
         str(tmp_path)])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith('todo') and 'resumes' not in first
    name = first.split()[1]
    (tmp_path / name).mkdir()
    (tmp_path / name / 'last_checkpoint').write_text('x/iter_3000.pth')
    camvid_quality.main(
        ['plan', '--records',
         str(records), '--work-dir',
         str(tmp_path)])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(f'{name}  (resumes at iteration 3000 of 16000)')
