# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The runner's schedule: the next run to train, ``--jobs`` runs at a
time, starting only runs that their expected time (from the records,
corrected by this machine's measured pace) lets finish by ``--stop-by``;
with ``--carry-over``, a slot that no such run is left for goes to a run
that cannot finish, trained until its last checkpoint before then and
resumed by the next ``run``."""
import argparse
import concurrent.futures
import contextlib
import os.path as osp
import re
import signal
import statistics
import sys
import threading
import time
from types import FrameType
from typing import (Callable, Dict, Iterator, List, Optional, Sequence, Set,
                    Tuple)

from .execution import (EVALUATION_SECONDS, WATCH_SECONDS, CannotFinish,
                        CarriedOver, RunningElsewhere, Stopped, execute,
                        next_checkpoint, resumable_iteration, teacher_ready)
from .plan import current_records, stage_runs
from .protocol import (BASELINES, RUN_ORDER, TEACHER_CHECKPOINT,
                       config_checkpoint_interval, config_max_iters,
                       is_distillation, student_of)
from .records import is_done, iterations_of, load_records, read_record


def planned_iterations(run: dict) -> int:
    """The iterations ``run`` will train: its ``--cfg-options``' or its
    config's."""
    if 'train_cfg.max_iters' in run['options']:
        return run['options']['train_cfg.max_iters']
    return config_max_iters(run['config'])


def median_rate(records: Dict[str, dict],
                match: Callable[[str], bool]) -> Optional[float]:
    """The median seconds per iteration of some finished runs.

    Args:
        records (dict): run name -> record.
        match (callable): method name -> whether its runs count.

    Returns:
        float, optional: The median over the finished, uninterrupted runs
        whose method ``match`` accepts; None without any.
    """
    rates = [
        r['train_seconds'] / iterations_of(r) for r in records.values()
        if match(r.get('method', '')) and not r.get('resumed_at')
        and iterations_of(r) and r.get('train_seconds')
    ]
    return statistics.median(rates) if rates else None


def own_iteration_seconds(run: dict, records: Dict[str,
                                                   dict]) -> Optional[float]:
    """Seconds per iteration from ``run``'s own method's records.

    Args:
        run (dict): The planned run.
        records (dict): run name -> record.

    Returns:
        float, optional: :func:`median_rate` of the method's finished runs;
        None for a method's first run.
    """
    return median_rate(records, lambda m: m == run['method'])


def iteration_seconds(run: dict, records: Dict[str, dict]) -> Optional[float]:
    """Seconds per training iteration ``run`` should take, from finished,
    uninterrupted runs: of the same method; else of the same kind (student
    alone or distillation) with the same student; else, for a distillation
    row whose student has none, its student alone's rate plus what a teacher
    added to the PSPNet student's. None without any. The median of the
    machines the records were made on: :func:`run_all` corrects it by this
    machine's pace."""

    method = run['method']

    def same_kind(m: str) -> bool:
        return student_of(m) == student_of(method) and is_distillation(
            m) == is_distillation(method)

    per_iteration = own_iteration_seconds(run, records) or median_rate(
        records, same_kind)
    if per_iteration is None and is_distillation(method):
        alone = median_rate(records, lambda m: m == student_of(method))
        with_teacher = median_rate(
            records,
            lambda m: is_distillation(m) and student_of(m) == 'baseline')
        pspnet_alone = median_rate(records, lambda m: m == 'baseline')
        if None not in (alone, with_teacher, pspnet_alone):
            per_iteration = alone + with_teacher - pspnet_alone
    return per_iteration


def expected_seconds(run: dict,
                     records: Dict[str, dict],
                     pace: float = 1.0,
                     done: int = 0) -> Optional[float]:
    """How long ``run`` should take: :func:`iteration_seconds` times the
    iterations it has left (``done`` of them are in a checkpoint it resumes
    from: :func:`checkpoint_iteration`) times ``pace`` (this machine's
    speed against the records': 0.6 where its runs took 60 % of their
    estimates), plus :data:`EVALUATION_SECONDS`. None without an estimate.
    Runs that overlapped other work on the machine make it pessimistic."""
    per_iteration = iteration_seconds(run, records)
    if per_iteration is None:
        return None
    left = max(planned_iterations(run) - done, 0)
    return pace * per_iteration * left + EVALUATION_SECONDS


def seconds_to_a_checkpoint(run: dict,
                            records: Dict[str, dict],
                            pace: float = 1.0,
                            done: int = 0) -> Optional[float]:
    """How long ``run``, resumed from iteration ``done``, should take to
    write its next checkpoint, with :data:`EVALUATION_SECONDS` to spare
    for its start-up: the least a run carried over must have before
    ``--stop-by`` for its start to keep anything. None without an
    estimate."""
    per_iteration = iteration_seconds(run, records)
    if per_iteration is None:
        return None
    left = next_checkpoint(done, config_checkpoint_interval(
        run['config'])) - done
    return pace * per_iteration * left + EVALUATION_SECONDS


def work_left(runs: Sequence[dict], records: Dict[str, dict], work_root: str,
              records_dir: str) -> Tuple[float, int]:
    """What ``runs`` still need, one after another on one core: the sum of
    their :func:`expected_seconds` at the records' pace, each from the
    checkpoint it would resume from in ``work_root``
    (:func:`resumable_iteration`), and how many of them have no estimate
    (left out of the sum)."""
    seconds, unknown = 0.0, 0
    for run in runs:
        need = expected_seconds(
            run,
            records,
            done=resumable_iteration(run, osp.join(work_root, run['name']),
                                     read_record(records_dir, run['name'])))
        if need is None:
            unknown += 1
        else:
            seconds += need
    return seconds, unknown


def observed_pace(record: dict, estimate: Optional[float]) -> Optional[float]:
    """A finished run's seconds per iteration over ``estimate`` (its
    :func:`own_iteration_seconds` when it started); None for a resumed run
    (its time covers a part) or without an estimate (a method's first
    run)."""
    iterations = iterations_of(record)
    if not estimate or record.get('resumed_at') or not iterations:
        return None
    return record['train_seconds'] / iterations / estimate


def parse_deadline(text: str, now: float) -> float:
    """``HH:MM`` (local time) as epoch seconds: the next such time after
    ``now``, when the machine will be gone, so that no run is started that
    cannot finish by then (its work dir may be lost with it), unless
    carried over (``--carry-over``).

    Raises:
        argparse.ArgumentTypeError: not a time of day, or one that passed
            less than 12 hours ago (a late start, not tomorrow's deadline).
    """
    match = re.fullmatch(r'(\d{1,2}):(\d{2})', text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise argparse.ArgumentTypeError(
            f'--stop-by {text!r}: give a local time as HH:MM, e.g. 14:55')
    t = time.localtime(now)

    def on(day: int) -> float:
        return time.mktime((t.tm_year, t.tm_mon, day, int(match[1]),
                            int(match[2]), 0, 0, 0, -1))

    today = on(t.tm_mday)
    if today > now:
        return today
    if now - today < 12 * 3600:
        raise argparse.ArgumentTypeError(
            f'--stop-by {text}: that was {(now - today) / 60:.0f} min ago; '
            'give a time still to come')
    return on(t.tm_mday + 1)


def next_run(stages: Sequence[str], methods: Sequence[str],
             records: Dict[str, dict], skip: Set[str]) -> Optional[dict]:
    """The next run to train: the first run not done and not in ``skip``
    (running here, held by another runner, failed) of the first stage of
    :data:`RUN_ORDER` that has one. Distillation runs wait for the
    teacher's checkpoint."""
    for stage in RUN_ORDER:
        if stage not in stages:
            continue
        for run in stage_runs(stage, methods, records):
            if run['name'] in skip or is_done(run, records):
                continue
            if run['method'] in ('teacher', ) + BASELINES or teacher_ready():
                return run
    return None


def stamp() -> str:
    """The time of day, as the runner's lines start: ``[HH:MM]``."""
    return f'[{time.strftime("%H:%M")}]'


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Stop on SIGTERM or SIGINT (Ctrl-C) cleanly rather than at once.

    The signal sets the event yielded: the runner then starts no more
    runs, and each training or evaluation stops at its next look
    (:class:`Stopped`), its training time written and its work dir
    released, for the next ``run`` to resume. An error leaving the block
    sets it too, so that nothing waits hours for trainings left running.
    A signal that the process was started ignoring (SIGINT in a background
    job) stays ignored. The earlier handlers are restored on exit.

    Yields:
        threading.Event: Set once the runner is to stop.
    """
    requested = threading.Event()

    def request(signum: int, frame: Optional[FrameType]) -> None:
        requested.set()
        # printed from another thread: the main thread may be printing
        threading.Thread(
            target=print,
            args=(f'{stamp()} {signal.Signals(signum).name}: stopping; each '
                  f'run stops within {WATCH_SECONDS:.0f} s, keeping its last '
                  'checkpoint', ),
            kwargs=dict(flush=True)).start()

    earlier = {
        s: signal.getsignal(s)
        for s in (signal.SIGTERM, signal.SIGINT)
        if signal.getsignal(s) not in (signal.SIG_IGN, None)
    }
    for s in earlier:
        signal.signal(s, request)
    try:
        yield requested
    except BaseException:
        requested.set()
        raise
    finally:
        for s, handler in earlier.items():
            signal.signal(s, handler)


def run_all(stages: Sequence[str], args: argparse.Namespace,
            records: Dict[str, dict]) -> None:
    """Train runs of ``stages``, ``args.jobs`` at a time, choosing each
    next run (:func:`next_run`) when a slot frees, from the records so far:
    a method's final runs start as soon as its grid is complete."""
    records, stale, _ = current_records(args.methods, records)
    # a stale record of a stage not run here is left as it is (it decides
    # nothing: it is not among ``records``)
    stale = [
        run['name'] for stage in stages
        for run in stage_runs(stage, args.methods, records)
        if run['name'] in stale
    ]
    if stale and not args.rerun_stale:
        sys.exit(f'Records made with other settings: {stale}. Pass '
                 '--rerun-stale to replace them.')
    if not teacher_ready():
        print(f'Distillation runs wait for the teacher checkpoint '
              f'{TEACHER_CHECKPOINT}.')
    skip, cannot_finish, started = set(), set(), 0
    # runs that cannot finish and cannot be carried over either (no
    # estimate, or no time left to reach a checkpoint)
    not_carried: Set[str] = set()
    # rates come from the records as they were at the start, corrected by
    # this machine's pace learned from the runs finished here (the runs
    # finished here in the rates as well would count this machine twice)
    rated_records = dict(records)
    paces: List[float] = []
    if args.stop_by is not None:
        print('Starting no run that cannot finish by '
              f'{time.strftime("%a %H:%M", time.localtime(args.stop_by))}' +
              (', unless no run that can is left (--carry-over).' if args.
               carry_over else '.'))

    # the pool's exit waits for its runs: after stop_on_signals' (which
    # stops them on an error)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool, \
            stop_on_signals() as requested:
        # each run with its seconds per iteration estimated at its start
        running: Dict[concurrent.futures.Future, Tuple[dict,
                                                       Optional[float]]] = {}
        while True:
            while (len(running) < args.jobs and not requested.is_set()
                   and (args.max_runs is None or started < args.max_runs)):
                held = skip | {r['name'] for r, _ in running.values()}
                # runs that another runner finished since (side by side)
                on_disk, _, _ = current_records(args.methods,
                                                load_records(args.records))
                records.update({
                    n: r
                    for n, r in on_disk.items() if n not in records
                })
                run = next_run(stages, args.methods, records,
                               held | cannot_finish)
                carry_over = run is None and args.carry_over
                if carry_over:
                    # every run left cannot finish by --stop-by: the first
                    # (the plan's order) trains to a checkpoint before it
                    run = next_run(stages, args.methods, records,
                                   held | not_carried)
                if run is None:
                    break
                if run['name'] in records and not args.rerun_stale:
                    # planned after the start (a grid point, a final) with
                    # a record of other settings: never overwritten silently
                    skip.add(run['name'])
                    print(
                        f'{stamp()} not starting {run["name"]}: its record '
                        'has other settings (--rerun-stale replaces it)',
                        flush=True)
                    continue
                if args.stop_by is not None:
                    pace = statistics.median(paces) if paces else 1.0
                    done = resumable_iteration(
                        run, osp.join(args.work_dir, run['name']),
                        read_record(args.records, run['name']))
                    need = (seconds_to_a_checkpoint if carry_over else
                            expected_seconds)(run, rated_records, pace, done)
                    left = args.stop_by - time.time()
                    if carry_over and (need is None or need > left):
                        print(
                            f'{stamp()} not carrying over {run["name"]}: ' +
                            ('no finished run to estimate its time from'
                             if need is None else f'its next checkpoint '
                             f'needs ~{need / 60:.0f} min, {left / 60:.0f} '
                             'left before --stop-by'),
                            flush=True)
                        not_carried.add(run['name'])
                        continue
                    if need is None or need > left:
                        cannot_finish.add(run['name'])
                        print(
                            f'{stamp()} not starting {run["name"]}: ' +
                            ('no finished run to estimate its time from'
                             if need is None else f'needs ~{need / 60:.0f} '
                             f'min (pace x{pace:.2f}), {left / 60:.0f} left '
                             'before --stop-by'),
                            flush=True)
                        continue
                # under --carry-over, a run slower than its estimate also
                # trains to its last checkpoint before --stop-by, rather
                # than being stopped on its pace and started over later
                # the pace is learned only from runs estimated from their
                # own method's records: a method's first run, estimated
                # from its kind's, says how the method differs from its
                # kind (MGD's step is 1.5x KD's), not how this machine
                # differs from the records' machines
                own_rate = own_iteration_seconds(run, rated_records)
                running[pool.submit(
                    execute,
                    run,
                    args.work_dir,
                    args.records,
                    args.stop_by,
                    args.carry_over,
                    requested=requested)] = (run, own_rate)
                started += 1
                print(
                    f'{stamp()} started {run["name"]}' +
                    (' (carried over: it cannot finish by --stop-by and '
                     'trains to its last checkpoint before it)'
                     if carry_over else ''),
                    flush=True)
            if not running:
                break
            done: Set[concurrent.futures.Future] = set()
            while not done:  # woken each second: a signal delivered to
                # another thread runs its handler only when this one wakes
                done, _ = concurrent.futures.wait(
                    running,
                    timeout=1.0,
                    return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                run, estimate = running.pop(future)
                try:
                    record = future.result()
                except RunningElsewhere as err:
                    print(f'{stamp()} skipped: {err}', flush=True)
                    skip.add(run['name'])
                    continue
                except (CarriedOver, Stopped) as err:
                    print(f'{stamp()} {run["name"]}: {err}', flush=True)
                    skip.add(run['name'])
                    continue
                except CannotFinish as err:
                    print(
                        f'{stamp()} stopped {run["name"]}: {err}', flush=True)
                    cannot_finish.add(run['name'])
                    continue
                except RuntimeError as err:
                    # after a stop request, the signal (sent to the process
                    # group) may have ended the command first
                    print(
                        f'{stamp()} ' +
                        ('stopped on request: '
                         if requested.is_set() else 'FAILED ') + str(err),
                        flush=True)
                    skip.add(run['name'])
                    continue
                records[run['name']] = record
                pace = observed_pace(record, estimate)
                if pace is not None:
                    paces.append(pace)
                scores = ', '.join(f'{s} {record[s + "_mIoU"]:.2f}'
                                   for s in run['splits'])
                print(
                    f'{stamp()} {run["name"]}: {scores} '
                    f'({record["train_seconds"] / 60:.0f} min)',
                    flush=True)
    if requested.is_set():
        raise SystemExit('Stopped on request; the next run resumes the runs '
                         'it stopped.')
