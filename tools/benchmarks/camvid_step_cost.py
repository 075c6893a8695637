# Copyright (c) mmseg_kd contributors. All rights reserved.
"""What one training step of each CamVid benchmark row costs, before the
row has a record to measure it by.

    python tools/benchmarks/camvid_step_cost.py [--methods kd mgd ...]
        [--repeats 5] [--out FILE]

Builds each row's config of ``distillation_configs/benchmarks/camvid_cpu/``
as the benchmark trains it (the protocol's crop, images per step and
models; the teacher keeps a random initialisation, which costs the same as
its checkpoint), with the student alone (``baseline``) and KD, and times
one training step of each, interleaved round by round, with one thread as
the benchmark's runs have (``--threads``), in process CPU time, which
other load on the machine disturbs far less than wall time. The training
monitor's gradient cosines, computed every 500 iterations in the
benchmark's runs, are left out (a twentieth of a percent of a run).

Reported: median seconds per step and the ratio to KD's step, the row the
benchmark has the most records of: a run of a row with a ratio r takes
about r times a KD run of the same schedule, on any machine. This is what a
budget for a row without a record should use (the runner's own estimate for
it is the median of the rows of its kind).
"""
import argparse
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from camvid_benchmark.protocol import (BASELINE_CONFIG, CONFIGS, METHODS,
                                       load_config)
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

import mmseg_kd  # noqa: F401 (registers the distillation modules)
from mmseg_kd.apis.probe import random_batch

#: the row every ratio is taken to
REFERENCE = 'kd'
STUDENT_ALONE = 'baseline'
#: CamVid's classes (the random labels' range)
NUM_CLASSES = 11


def row_config(row: str):
    """The config ``row`` trains, as the benchmark runs it, with a random
    teacher and the gradient cosines off."""
    if row == STUDENT_ALONE:
        return load_config(BASELINE_CONFIG)
    cfg = load_config(osp.join(CONFIGS, METHODS[row]))
    cfg.model.teacher.checkpoint = None
    cfg.model.distill.monitor = dict(grad_cosine_interval=None)
    return cfg


def training_step(row: str) -> Callable[[], None]:
    """One training step of ``row`` on a random batch of the protocol's
    crop and images per step, as a function."""
    cfg = row_config(row)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model).train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = random_batch(cfg.crop_size, cfg.train_dataloader.batch_size,
                         NUM_CLASSES)

    def step():
        with DefaultScope.overwrite_default_scope('mmseg'):
            model.train_step(batch, optim)

    return step


def median_seconds(steps: Dict[str, Callable[[], None]],
                   repeats: int) -> Dict[str, float]:
    """Median process CPU seconds of each step over ``repeats`` rounds,
    interleaved, after one warm-up round."""
    times: Dict[str, List[float]] = {row: [] for row in steps}
    for step in steps.values():
        step()
    for _ in range(repeats):
        for row, step in steps.items():
            start = time.process_time()
            step()
            times[row].append(time.process_time() - start)
    return {row: statistics.median(t) for row, t in times.items()}


def cost_table(seconds: Dict[str, float]) -> str:
    """The table: each row's seconds per step and its ratio to KD's."""
    lines = [
        f'| row | CPU seconds per step | ratio to {REFERENCE} |',
        '|---|---|---|',
    ]
    for row, value in seconds.items():
        lines.append(f'| {row} | {value:.3f} | '
                     f'{value / seconds[REFERENCE]:.2f} |')
    return '\n'.join(lines) + '\n'


def rows_to_time(methods: Sequence[str]) -> List[str]:
    """The student alone, KD, then ``methods`` in their order."""
    rows = [STUDENT_ALONE, REFERENCE]
    return rows + [m for m in methods if m not in rows]


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Time the rows the command line names; print the table (and write it
    with ``--out``) and return it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--methods',
        nargs='+',
        choices=list(METHODS),
        default=list(METHODS),
        help='rows to time besides the student alone and KD (default: '
        'all)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1, as each benchmark run)')
    parser.add_argument('--out', help='also write the table (markdown)')
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error('--repeats and --threads must be at least 1')
    rows = rows_to_time(args.methods)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        steps = {row: training_step(row) for row in rows}
        seconds = median_seconds(steps, args.repeats)
    finally:
        torch.set_num_threads(threads)  # the caller's, as it was
    text = ('# CamVid benchmark: what a training step of each row costs\n\n'
            '`python tools/benchmarks/camvid_step_cost.py` (the protocol\'s '
            'crop, images per step and models; random teacher; gradient '
            'cosines off; CPU time, '
            f'{args.threads} thread(s), torch {torch.__version__}; '
            f'median of {args.repeats} interleaved rounds)\n\n' +
            cost_table(seconds))
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    return text


if __name__ == '__main__':
    main()
