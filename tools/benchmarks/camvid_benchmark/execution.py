# Copyright (c) mmseg_kd contributors. All rights reserved.
"""One run: trained with ``tools/train.py`` (``--resume``) in its work dir,
which one runner claims and which holds one run's settings; stopped when
its pace passes a deadline; evaluated with ``tools/test.py``; its record
written."""
import contextlib
import datetime
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Union

from .grid import term_multiple
from .protocol import (CONFIGS, METHODS, REPO, TEACHER_CHECKPOINT,
                       config_checkpoint_interval, config_weights,
                       is_distillation, published_row, published_weights)
from .records import (code_version, curves_of, file_hash, parse_metrics,
                      read_record, settings_of)


def _options_args(options: dict) -> List[str]:
    """``options`` as ``--cfg-options`` arguments (``key=value``)."""
    return [f'{k}={v}' for k, v in options.items()]


def save_teacher_weights(checkpoint: str, target: str) -> None:
    """The teacher's weights alone (``{'state_dict': ...}``, no optimizer
    state or message hub) from its final training checkpoint: the file
    every distillation row loads, small enough to commit, so that the rows
    can be continued elsewhere with the very teacher whose hash their
    records hold."""
    import torch

    from mmseg_kd.utils.checkpoint import read_state_dict
    state = read_state_dict(checkpoint, role='teacher')
    os.makedirs(osp.dirname(target), exist_ok=True)
    torch.save({'state_dict': state}, target + '.tmp')
    os.replace(target + '.tmp', target)


class RunningElsewhere(Exception):
    """Another live runner process is training this run."""


@contextlib.contextmanager
def claimed(work: str) -> Iterator[None]:
    """Hold ``<work>/RUNNING`` (this process's id) while a run trains, so
    that two runners started side by side never train the same run; a lock
    left by a process that no longer exists is taken over."""
    os.makedirs(work, exist_ok=True)
    lock = osp.join(work, 'RUNNING')
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(lock) as f:
                    pid = int(f.read().strip() or 0)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(lock)  # stale: its process is gone
                continue
            except PermissionError:
                pass  # alive, another user's
            raise RunningElsewhere(f'{work} is being trained by process '
                                   f'{pid}') from None
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        try:
            yield
        finally:
            os.remove(lock)
        return
    raise RunningElsewhere(f'could not claim {work}')


class CannotFinish(Exception):
    """A run's own measured pace says it would end after ``--stop-by``."""


class CarriedOver(Exception):
    """A run that could not finish by ``--stop-by`` (``--carry-over``) was
    stopped before it, its work kept in its last checkpoint: the next
    ``run`` resumes it."""


class Stopped(Exception):
    """The runner was asked to stop (SIGTERM, Ctrl-C): the run's training
    was stopped, its work kept in its last checkpoint and its training time
    written; the next ``run`` resumes it."""


#: seconds between two looks at a training run's log for its pace
WATCH_SECONDS = 30.0

#: the training time a carried-over run's log must span before the time
#: to its next checkpoint is judged by its pace (seconds)
CHECKPOINT_PACE_SPAN_SECONDS = 120.0

#: what a checkpoint due before ``--stop-by`` must leave before it: a look
#: at the log (:data:`WATCH_SECONDS`), the checkpoint's writing and some
#: noise in the pace (seconds)
CHECKPOINT_MARGIN_SECONDS = 90.0

#: the training time a run's log must span before its pace is judged
#: against ``--stop-by`` (seconds): a few minutes of other work on the
#: cores (a test suite, an install) slows a one-thread run for a while,
#: and judged over those minutes alone it would be stopped and its slot
#: lost although its pace over the run keeps to the deadline
PACE_SPAN_SECONDS = 900.0

#: added to a run's expected training time: its evaluation with
#: ``tools/test.py`` and the start-up, with some margin (seconds)
EVALUATION_SECONDS = 300

#: an mmengine training log line: its time stamp and iteration
_TRAIN_LINE = re.compile(
    r'^(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) - mmengine - '
    r'\w+ - Iter\(train\)\s*\[\s*(\d+)/(\d+)\]', re.M)


class Pace(NamedTuple):
    """How one attempt at a run trains, from its log."""
    #: seconds per iteration between the attempt's first and last
    #: ``Iter(train)`` lines
    seconds_per_iteration: float
    #: the iteration of its last line
    iteration: int
    #: the iterations the run trains for
    max_iterations: int


def log_pace(log_text: str, min_span: float = 0.0) -> Optional[Pace]:
    """The :class:`Pace` that one attempt's log, ``log_text``, shows
    between its first ``Iter(train)`` line and its last (their time stamps
    and iterations); None until two such lines are there, at least
    ``min_span`` seconds apart."""
    found = _TRAIN_LINE.findall(log_text)
    if len(found) < 2:
        return None

    def stamp(line) -> float:
        # a leap year, so that a log of 29 February reads
        return datetime.datetime(2000, *map(int, line[:5])).timestamp()

    first, last = found[0], found[-1]
    span = stamp(last) - stamp(first)
    done = int(last[5]) - int(first[5])
    if span < 0 or done <= 0:  # across a new year, or no progress yet
        return None
    if span < min_span:  # too short a stretch to judge the pace by
        return None
    return Pace(span / done, int(last[5]), int(last[6]))


def remaining_seconds(log_text: str, min_span: float = 0.0) -> Optional[float]:
    """The training time left at the pace that one attempt's log,
    ``log_text``, shows (:func:`log_pace`); None until it shows one.

    Not mmengine's logged ETA: that averages over everything since the
    process started, so after ``--resume`` it counts the start-up and the
    dataloader's advance through every trained iteration (minutes) and
    stays inflated long after."""
    pace = log_pace(log_text, min_span)
    if pace is None:
        return None
    return pace.seconds_per_iteration * (pace.max_iterations - pace.iteration)


#: A stop rule: (the log of this attempt so far, the time now) -> the
#: reason to stop the run now, or None to let it train on.
StopRule = Callable[[str, float], Optional[Exception]]


def finish_by(deadline: float) -> StopRule:
    """Stop a run as soon as its remaining time at the pace its log shows
    (:func:`remaining_seconds`, over :data:`PACE_SPAN_SECONDS` of training
    at least) plus its evaluation says it would end after ``deadline``
    (:class:`CannotFinish`): a run that cannot finish only holds a slot
    that a shorter run could use."""

    def rule(log_text: str, now: float) -> Optional[Exception]:
        left = remaining_seconds(log_text, PACE_SPAN_SECONDS)
        if left is not None and now + left + EVALUATION_SECONDS > deadline:
            return CannotFinish(
                f'its pace ({left / 60:.0f} min of training left, then its '
                'evaluation) passes --stop-by; stopped (--resume continues '
                'it from its last checkpoint)')
        return None

    return rule


def next_checkpoint(done: int, interval: int) -> int:
    """The iteration of the next checkpoint of a run that has one at
    ``done`` (0: none) and writes one every ``interval`` iterations."""
    return (done // interval + 1) * interval


def save_by(deadline: float, work: str, interval: int) -> StopRule:
    """Let a run train while it can still write another checkpoint (every
    ``interval`` iterations, in ``work``) before ``deadline``, with
    :data:`CHECKPOINT_MARGIN_SECONDS` to spare (and its evaluation after
    its last), and stop it once it cannot, or at ``deadline``
    (:class:`CarriedOver`): what it would train after its last checkpoint
    before the deadline would be lost, and the cores are free earlier; the
    next run resumes it. A run that can finish by then trains to its end.
    Until its log shows a pace (:data:`CHECKPOINT_PACE_SPAN_SECONDS`),
    only the deadline stops it."""

    def rule(log_text: str, now: float) -> Optional[Exception]:
        saved = checkpoint_iteration(work)
        stop = CarriedOver(f'stopped before --stop-by at its checkpoint of '
                           f'iteration {saved}; the next run resumes it')
        if now >= deadline:
            return stop
        pace = log_pace(log_text, CHECKPOINT_PACE_SPAN_SECONDS)
        if pace is None:
            return None
        next_save = next_checkpoint(saved, interval)
        if pace.iteration >= next_save:  # being written now
            return None
        need = ((next_save - pace.iteration) * pace.seconds_per_iteration +
                CHECKPOINT_MARGIN_SECONDS)
        if next_save >= pace.max_iterations:  # the last: then evaluated
            need += EVALUATION_SECONDS
        return stop if now + need > deadline else None

    return rule


def run_watched(command: List[str],
                env: dict,
                log_path: str,
                stop: Optional[StopRule],
                requested: Optional[threading.Event] = None) -> int:
    """Run ``command`` (a training or an evaluation; its output appended to
    ``log_path``) and return its exit code, looked at every
    :data:`WATCH_SECONDS`: with a ``stop`` rule (:func:`finish_by`,
    :func:`save_by`), given this attempt's log, it is stopped and the
    rule's reason raised as soon as the rule gives one; once ``requested``
    is set (the runner was asked to stop), it is stopped, or not started,
    and :class:`Stopped` raised.

    Args:
        command (list[str]): The command, run in the repository.
        env (dict): Its environment.
        log_path (str): The file its output is appended to.
        stop (StopRule, optional): When to stop it before it ends.
        requested (threading.Event, optional): Set when the runner is
            asked to stop (:func:`scheduler.stop_on_signals`).

    Returns:
        int: The command's exit code.
    """

    def stop_requested() -> None:
        if requested is not None and requested.is_set():
            raise Stopped('stopped on request; its last checkpoint is kept '
                          'and the next run resumes it')

    stop_requested()
    with open(log_path, 'a') as log:
        start = log.tell()
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                return process.wait(timeout=WATCH_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            stop_requested()
            if stop is None:
                continue
            with open(log_path) as log:
                log.seek(start)
                reason = stop(log.read(), time.time())
            if reason is not None:
                raise reason
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def execute(run: dict,
            work_root: str,
            records_dir: str,
            deadline: Optional[float] = None,
            carry_over: bool = False,
            requested: Optional[threading.Event] = None) -> dict:
    """Train ``run``, evaluate it on its splits, write its record (unless
    another runner holds it: :class:`RunningElsewhere`; or its pace says it
    would end after ``deadline``: :class:`CannotFinish`; or ``requested``
    was set while it trained: :class:`Stopped`). With ``carry_over``, a
    run that cannot finish by ``deadline`` trains until its last
    checkpoint before it instead (:func:`save_by`, :class:`CarriedOver`)."""
    work = osp.join(work_root, run['name'])
    with claimed(work):
        return _execute(run, work, records_dir, deadline, carry_over,
                        requested)


#: the file in a work dir that names the settings of the run it holds
WORK_SETTINGS = 'settings.json'


def work_settings(work: str, record: Optional[dict]) -> Optional[dict]:
    """The settings of the run whose files ``work`` holds: its
    :data:`WORK_SETTINGS` (``{}``, other than any run's, where that cannot
    be read); for a work dir from before that file that holds files, those
    of the run's ``record`` (it finished there); None when nothing says (an
    empty or missing work dir, or one whose run was interrupted before that
    file existed)."""
    try:
        with open(osp.join(work, WORK_SETTINGS)) as f:
            return json.load(f)
    except FileNotFoundError:
        pass
    except ValueError:
        return {}
    holds_files = osp.isdir(work) and any(entry != 'RUNNING'
                                          for entry in os.listdir(work))
    return record.get('settings') if record and holds_files else None


def holds_other_run(run: dict, work: str, record: Optional[dict]) -> bool:
    """Whether ``work`` holds the files of a run with other settings than
    ``run``'s (:func:`work_settings`; ``record``: the run's record now)."""
    found = work_settings(work, record)
    return found is not None and found != settings_of(run)


def set_aside_other_run(run: dict, work: str,
                        record: Optional[dict]) -> Optional[str]:
    """Make ``work`` hold ``run`` alone: the files of a run made there with
    other settings (a stale record's, now rerun) are moved into
    ``work/other_settings_<time>/`` (kept, not deleted), so that
    ``--resume`` never continues another run's checkpoint; then the run's
    settings are written to :data:`WORK_SETTINGS`. Returns where the
    other run's files went, or None if there was none.

    Args:
        run (dict): the run about to train in ``work``.
        work (str): its work dir (claimed: it holds ``RUNNING``).
        record (dict, optional): the run's record as it is now, if any.
    """
    aside = None
    if holds_other_run(run, work, record):
        aside = osp.join(work, time.strftime('other_settings_%Y%m%d_%H%M%S'))
        os.makedirs(aside)
        for entry in os.listdir(work):
            if entry != 'RUNNING' and not entry.startswith('other_settings_'):
                os.replace(osp.join(work, entry), osp.join(aside, entry))
    path = osp.join(work, WORK_SETTINGS)
    with open(path + '.tmp', 'w') as f:
        json.dump(settings_of(run), f, indent=1, sort_keys=True)
    os.replace(path + '.tmp', path)
    return aside


def checkpoint_iteration(work: str) -> int:
    """The iteration of the checkpoint that ``--resume`` continues a run
    in ``work`` from (``work/last_checkpoint``, ``iter_<N>.pth``); 0 for a
    run that starts from scratch."""
    try:
        with open(osp.join(work, 'last_checkpoint')) as f:
            found = re.search(r'iter_(\d+)\.pth$', f.read().strip())
    except FileNotFoundError:
        return 0
    return int(found.group(1)) if found else 0


def resumable_iteration(run: dict, work: str, record: Optional[dict]) -> int:
    """The iteration ``run`` would resume from in ``work``: its
    :func:`checkpoint_iteration` where the work dir holds this run or
    nothing says otherwise; 0 where it holds another run's files
    (:func:`set_aside_other_run` moves them away before it trains)."""
    return 0 if holds_other_run(run, work,
                                record) else checkpoint_iteration(work)


class Trained(NamedTuple):
    """What :func:`train` leaves for the evaluation and the record."""
    #: the final checkpoint (``work/last_checkpoint``)
    checkpoint: str
    #: wall time of its training, over the attempts since it last started
    #: over that this runner saw end (:func:`earlier_training_seconds`;
    #: seconds)
    seconds: float
    #: the iterations the run was resumed at, over all its attempts
    resumed_at: List[int]


def _subprocess_env() -> dict:
    """The environment of a run's tools: one thread each (two runs side
    by side on two cores), this repository importable."""
    return dict(
        os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONPATH=REPO)


def _cfg_options(run: dict) -> dict:
    """The ``--cfg-options`` of every tool a run calls: its own and its
    seed."""
    return dict(run['options'], **{'randomness.seed': run['seed']})


def stop_rule(run: dict, work: str, deadline: Optional[float],
              carry_over: bool) -> Optional[StopRule]:
    """How ``run``, training in ``work``, keeps to ``deadline``: none
    without one; carried over, it trains to its last checkpoint before it
    (:func:`save_by`); else it is stopped once its pace says it cannot
    finish by then (:func:`finish_by`)."""
    if deadline is None:
        return None
    if carry_over:
        return save_by(deadline, work,
                       config_checkpoint_interval(run['config']))
    return finish_by(deadline)


#: the file in a work dir that adds up the training time of its run's
#: attempts (a run carried over trains in several)
TRAINING_SECONDS = 'training_seconds.txt'


def earlier_training_seconds(work: str) -> float:
    """The training time of the attempts that the checkpoint a run in
    ``work`` resumes from holds (:data:`TRAINING_SECONDS`): 0 for a run
    that starts over (no checkpoint), whatever attempts came before. An
    attempt whose runner was killed with it (the machine went away, or
    SIGKILL) is not counted; an attempt stopped after its last checkpoint
    (on request, or on its pace) counts its time past that checkpoint too,
    although the next attempt trains those iterations again."""
    if not checkpoint_iteration(work):
        return 0.0
    try:
        with open(osp.join(work, TRAINING_SECONDS)) as f:
            return float(f.read())
    except (FileNotFoundError, ValueError):
        return 0.0


def write_training_seconds(work: str, seconds: float) -> None:
    """``work``'s :data:`TRAINING_SECONDS`, written whole."""
    path = osp.join(work, TRAINING_SECONDS)
    with open(path + '.tmp', 'w') as f:
        f.write(f'{seconds!r}\n')
    os.replace(path + '.tmp', path)


def train(run: dict,
          work: str,
          stop: Optional[StopRule],
          requested: Optional[threading.Event] = None) -> Trained:
    """Train ``run`` in ``work`` with ``tools/train.py --resume``: a run
    interrupted earlier (a session that ended, a run carried over)
    continues from its last checkpoint, exactly; a fresh work dir starts
    from zero. Watched by ``stop`` and ``requested`` (:func:`run_watched`).

    Raises:
        RuntimeError: training failed (its log named).
    """
    log_path = osp.join(work, 'train.log')
    earlier = earlier_training_seconds(work)
    start = time.time()
    try:
        code = run_watched([
            sys.executable, 'tools/train.py', run['config'], '--work-dir',
            work, '--resume', '--cfg-options'
        ] + _options_args(_cfg_options(run)), _subprocess_env(), log_path,
                           stop, requested)
    finally:
        seconds = earlier + time.time() - start
        write_training_seconds(work, seconds)
    if code != 0:
        raise RuntimeError(f'{run["name"]}: training failed; see {log_path}')
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    with open(log_path) as log:
        resumed = re.findall(r'resumed epoch: \d+, iter: (\d+)', log.read())
    return Trained(checkpoint, seconds, [int(i) for i in resumed])


def evaluate(run: dict,
             work: str,
             checkpoint: str,
             split: str,
             requested: Optional[threading.Event] = None) -> dict:
    """mIoU and per-class IoU of ``checkpoint`` on ``split`` (``'val'`` or
    ``'test'``), with ``tools/test.py`` (its log: ``work/<split>.log``),
    stopped once ``requested`` is set (:func:`run_watched`).

    Raises:
        RuntimeError: the evaluation failed (its log named).
        Stopped: the runner was asked to stop.
    """
    split_options = {} if split == 'test' else {
        'test_dataloader.dataset.data_prefix.img_path': 'img_dir/val',
        'test_dataloader.dataset.data_prefix.seg_map_path': 'ann_dir/val'
    }
    log_path = osp.join(work, f'{split}.log')
    open(log_path, 'w').close()  # this evaluation's output alone
    code = run_watched([
        sys.executable, 'tools/test.py', run['config'], checkpoint,
        '--work-dir',
        osp.join(work, split), '--cfg-options'
    ] + _options_args(dict(_cfg_options(run), **split_options)),
                       _subprocess_env(), log_path, None, requested)
    if code != 0:
        raise RuntimeError(f'{run["name"]}: evaluation on {split} '
                           f'failed; see {log_path}')
    with open(log_path) as log:
        return parse_metrics(log.read())


def run_weights(run: dict) -> Dict[str, Union[float, dict]]:
    """Loss name -> the loss weight a distillation ``run`` trains with: its
    config's number times the run's multiple of it (its grid point), or
    the settings of a weight its config sets in training (what that weight
    became is its record's ``kd_weight/<name>`` curve)."""
    multiple = run.get('multiple', 1.0)
    return {
        k: v if isinstance(v, dict) else v * term_multiple(multiple, k)
        for k, v in config_weights(run['config']).items()
    }


def make_record(run: dict, work: str, trained: Trained,
                scores: Dict[str, dict]) -> dict:
    """The record of ``run``: what it is (method, seed, stage, its grid
    value), the settings it was made with, its time, the code version,
    the curves its logs in ``work`` hold, its loss weights and its
    ``scores`` (split -> :func:`evaluate`'s result)."""
    record = dict(
        method=run['method'],
        seed=run['seed'],
        stage=run['stage'],
        settings=settings_of(run),
        train_seconds=round(trained.seconds),
        resumed_at=trained.resumed_at,
        code_version=code_version(),
        date=time.strftime('%Y-%m-%d %H:%M'))
    for key in ('lr', 'multiple'):
        if key in run:
            record[key] = run[key]
    record.update(curves_of(work))
    if is_distillation(run['method']):
        record['published_weights'] = published_weights(
            osp.join(CONFIGS, METHODS[published_row(run['method'])]))
        record['loss_weights'] = run_weights(run)
    for split, metrics in scores.items():
        record[f'{split}_mIoU'] = metrics['mIoU']
        record[f'{split}_per_class_IoU'] = metrics['per_class_IoU']
    return record


def write_record(record: dict, records_dir: str, name: str) -> None:
    """``records_dir/<name>.json``, written whole or not at all (a runner
    stopped while writing leaves no half record for the next to read)."""
    os.makedirs(records_dir, exist_ok=True)
    path = osp.join(records_dir, name + '.json')
    with open(path + '.tmp', 'w') as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(path + '.tmp', path)


def _execute(run: dict, work: str, records_dir: str, deadline: Optional[float],
             carry_over: bool, requested: Optional[threading.Event]) -> dict:
    """:func:`execute` in the claimed work dir ``work``: make it hold this
    run alone, :func:`train`, :func:`evaluate` on the run's splits, write
    and return the record (for the teacher, also its weights at
    ``TEACHER_CHECKPOINT``)."""
    aside = set_aside_other_run(run, work, read_record(records_dir,
                                                       run['name']))
    if aside:
        print(
            f'{run["name"]}: its work dir held a run with other settings; '
            f'moved to {aside}',
            flush=True)
    trained = train(run, work, stop_rule(run, work, deadline, carry_over),
                    requested)
    scores = {
        split: evaluate(run, work, trained.checkpoint, split, requested)
        for split in run['splits']
    }
    record = make_record(run, work, trained, scores)
    if run['stage'] == 'teacher':
        target = osp.join(REPO, TEACHER_CHECKPOINT)
        save_teacher_weights(trained.checkpoint, target)
        record['checkpoint_sha256'] = file_hash(target)
    write_record(record, records_dir, run['name'])
    return record


def teacher_ready() -> bool:
    """Whether the teacher's weights, which every distillation row loads,
    are at ``TEACHER_CHECKPOINT``."""
    return osp.isfile(osp.join(REPO, TEACHER_CHECKPOINT))
