# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Distillation quality on real data: CamVid, every method, several seeds.

    python tools/benchmarks/camvid_quality.py plan
    python tools/benchmarks/camvid_quality.py run [--stage S] [--jobs 2]
        [--methods kd ...] [--max-runs N] [--stop-by HH:MM]
    python tools/benchmarks/camvid_quality.py table [--out FILE]
    python tools/benchmarks/camvid_quality.py calibration [--out FILE]
    python tools/benchmarks/camvid_quality.py diagnostics [--out FILE]
    python tools/benchmarks/camvid_quality.py plot [--plot-dir DIR]

Every run is a config file of ``distillation_configs/benchmarks/camvid_cpu/``
(the protocol: ``distillation_configs/_base_/protocols/camvid_cpu.py``),
trained with ``tools/train.py`` and evaluated with ``tools/test.py``; this
script only schedules runs, collects their results and writes the table.
A final run is its config file with its seed, the shared learning rate
(when the chosen one is not the protocol's), the chosen loss weights and a
validation every :data:`FINAL_VAL_INTERVAL` iterations; a tuning run is its
config file at the tuning schedule (:data:`TUNE_ITERS`, half the final one)
with a learning rate or the loss weights of the grid. Those
``--cfg-options`` are written into the record.

Stages (each plans the runs that the records so far allow; ``run``
picks a next run whenever one of its ``--jobs`` slots frees, in the order
teacher, lr, final, tune, so that a method's final runs start as soon as
its grid is complete and the table's rows complete one by one;
``--stage S`` restricts it to one stage):

* ``teacher``: the width-32 teacher (seed 0); its final checkpoint is copied
  to the path the protocol names.
* ``lr``: the student alone at a few learning rates, at the tuning schedule
  (8000 iterations), seed 100, evaluated on the **val** split only; the best
  one is shared by every PSPNet row (tuning and final runs).
* ``tune``: at the tuning schedule and the shared learning rate, every
  method at multiples of its published loss weights, seed 100, val only:
  the reference method (KD) at 0.1, 0.3, 1 and 3; every other method at 1
  (published) and at the multiple that gives its terms the reference's
  tuned gradient strength, measured in its published run, and a method of
  several terms also at its per-term point, each term's weight scaled to
  an equal share of that strength (``wterms``; :func:`weight_grid`); and
  the student alone
  trained twice as long as the final runs (``check``), as evidence that
  the final schedule has converged.
* ``final``: the student alone at the chosen learning rate and every method
  at its chosen weights, seeds 0, 1, 2, evaluated on val and on **test**.

Every finished run writes one JSON record into
``docs/benchmarks/camvid/records/`` (``--records``): method, seed, stage,
val_mIoU (and test_mIoU for final runs), per-class IoU, the settings it was
made with (config, options, a hash of the resolved config, the teacher's
checkpoint hash), train time, code version, and what the run logged over
time (``val_curve``; ``train_curves``: every loss term and distillation
diagnostic, e.g. ``kd_cosine/<term>``, averaged per 1000 iterations;
:func:`curves_of`). ``plot`` draws the validation curves and, once rows are
complete, their test mIoU (mean +- std and seeds). A run whose record exists
with the same settings is skipped, so the benchmark continues across
sessions and machines; ``--jobs 2`` trains two runs side by side, one
thread each.
"""
import argparse
import concurrent.futures
import contextlib
import datetime
import glob
import hashlib
import json
import math
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
import warnings
from typing import Dict, Iterable, List, Optional, Tuple, Union

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = osp.join('distillation_configs', 'benchmarks', 'camvid_cpu')
RECORDS = osp.join(REPO, 'docs', 'benchmarks', 'camvid', 'records')
TEACHER_CONFIG = osp.join(CONFIGS, 'teacher_pspnet_r18-w32.py')
BASELINE_CONFIG = osp.join(CONFIGS, 'baseline_pspnet_r18-w8.py')
TEACHER_CHECKPOINT = osp.join('checkpoints', 'camvid_cpu',
                              'teacher_pspnet_r18-w32.pth')

#: the table's rows: method name -> its config (in CONFIGS)
METHODS = {
    'kd': 'kd.py',
    'cwd_logits': 'cwd_logits.py',
    'cwd_feature': 'cwd_feature.py',
    'skd_pixel_pair': 'skd_pixel_pair.py',
    'skd_pixel_pair_holistic': 'skd_pixel_pair_holistic.py',
    'ifvd': 'ifvd.py',
    'cgd': 'cgd.py',
    'dist': 'dist.py',
    'cirkd': 'cirkd.py',
    'prerelu_pixel_pair': 'prerelu_pixel_pair.py',
    'fitnet': 'fitnet.py',
    'at': 'at.py',
    'dsd': 'dsd.py',
    'mgd': 'mgd.py',
    'kd_logit_standardization': 'kd_logit_standardization.py',
    'espnet_skd_pixel_pair': 'espnet_skd_pixel_pair.py',
}
#: the student alone that a row is compared with (default: 'baseline', the
#: PSPNet; the ESPNet rows, SKD's own CamVid experiment, have their own)
STUDENT_OF = {'espnet_skd_pixel_pair': 'espnet_baseline'}
#: students alone with a fixed recipe (no learning-rate tuning)
FIXED_BASELINES = {
    'espnet_baseline': osp.join(CONFIGS, 'espnet_baseline.py'),
}
BASELINES = ('baseline', ) + tuple(FIXED_BASELINES)
#: the method tuned over the full grid (:data:`FULL_WEIGHT_GRID`); its
#: tuned strength sets every other method's second grid point
REFERENCE_METHOD = 'kd'
#: multiples of the published loss weights tried on val for the reference
#: method (1 = published)
FULL_WEIGHT_GRID = (0.1, 0.3, 1.0, 3.0)
#: the values a calibrated multiple is rounded to (a 1-3 log scale)
MULTIPLE_SCALE = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: learning rates tried on val for the student alone
LR_GRID = (0.02, 0.05, 0.1)
TUNE_SEED = 100
#: the tuning runs' schedule (iterations): half the final runs' 16000, to
#: halve the cost of the grid; the learning rate decays over it as over the
#: full schedule (docs/benchmarks.md, "The protocol")
TUNE_ITERS = 8000
FINAL_SEEDS = (0, 1, 2)
#: every final run validates this often (its record's ``val_curve``)
FINAL_VAL_INTERVAL = 500
#: the runner's stages, in order (each plans what the records allow)
STAGES = ('teacher', 'lr', 'tune', 'final')
#: the order in which ``run`` picks the next run among the stages: the
#: final runs of every method whose grid is complete come before more
#: tuning, so that the table's rows complete one by one
RUN_ORDER = ('teacher', 'lr', 'final', 'tune')


# ------------------------------------------------------------------ runs
def run_name(stage: str, method: str, seed: int, variant: str = '') -> str:
    """The record's file name (without .json) and the work dir's name."""
    return '_'.join(p for p in (stage, method, variant, f's{seed}') if p)


def published_weights(config: str) -> Dict[str, float]:
    """Loss name -> loss_weight of a distillation config."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    return {
        k: float(v.get('loss_weight', 1.0))
        for k, v in cfg.model.distill.losses.items()
    }


#: a grid point: one multiple of every term's published loss weight, or
#: (a multi-term method's per-term point) a multiple per term
Multiple = Union[float, Dict[str, float]]


def term_multiple(multiple: Multiple, term: str) -> float:
    """The multiple of ``term``'s published weight at grid point
    ``multiple``.

    Raises:
        ValueError: a per-term point that does not name ``term``.
    """
    if not isinstance(multiple, dict):
        return multiple
    if term not in multiple:
        raise ValueError(f'The per-term grid point {multiple} has no '
                         f'multiple for {term}: its record is not from this '
                         'config; delete it and rerun.')
    return multiple[term]


def multiple_label(multiple: Multiple) -> str:
    """A grid point as the tables show it: ``x0.1``, or per term
    ``skd_pixel x0.1, skd_pair x10``."""
    if not isinstance(multiple, dict):
        return f'x{multiple:g}'
    return ', '.join(f'{k[len("loss_"):] if k.startswith("loss_") else k} '
                     f'x{v:g}' for k, v in sorted(multiple.items()))


def multiple_order(multiple: Optional[Multiple]) -> float:
    """A sort key of grid points: the uniform ones by their multiple, the
    per-term point last."""
    return math.inf if isinstance(multiple, dict) else (multiple or 0.0)


def weight_options(config: str, multiple: Multiple) -> Dict[str, float]:
    """The --cfg-options that scale every loss weight of ``config`` by
    ``multiple`` (or each by its own, at a per-term point; empty at 1: the
    config as it is)."""
    if multiple == 1.0:
        return {}
    return {
        f'model.distill.losses.{k}.loss_weight':
        round(v * term_multiple(multiple, k), 10)
        for k, v in published_weights(config).items()
    }


def early_ratios(record: dict, prefix: str) -> Dict[str, float]:
    """Term -> the mean of ``<prefix>/<term>`` over the first window of a
    record's training curves (what a Calibrated weight is set from: the
    start of training)."""
    out = {}
    for key, windows in record.get('train_curves', {}).items():
        if key.startswith(prefix + '/') and windows:
            first = min(windows, key=int)
            out[key[len(prefix) + 1:]] = windows[first]
    return out


def gradient_strength(record: dict) -> float:
    """How hard a run's distillation terms pull, whatever their scale: the
    sum over its terms of each term's gradient norm on the student over the
    task loss's (``kd_grad_ratio``; not the ratio of the summed gradient),
    in its first curve window (the samples at iterations 500 and 1000).

    Raises:
        ValueError: the record has no such curve (a run made without the
            protocol's ``model.distill.monitor.grad_cosine_interval``).
    """
    ratios = early_ratios(record, 'kd_grad_ratio')
    if not ratios or sum(ratios.values()) <= 0:
        raise ValueError(
            f'The record of {record.get("method")} at '
            f'{multiple_label(record.get("multiple") or 1.0)} has no '
            'kd_grad_ratio curve: delete '
            'it and rerun the run (the protocol\'s '
            'model.distill.monitor.grad_cosine_interval logs the curve).')
    return sum(ratios.values())


def tune_name(method: str, multiple: Multiple) -> str:
    """The name of ``method``'s tuning run at ``multiple`` (``wterms`` at
    its per-term point)."""
    variant = 'wterms' if isinstance(multiple, dict) else f'w{multiple:g}'
    return run_name('tune', method, TUNE_SEED, variant)


def reference_strength(records: Dict[str, dict]) -> Optional[float]:
    """The :func:`gradient_strength` of :data:`REFERENCE_METHOD` at its
    tuned multiple; None until its full grid is complete."""
    m = tuned_multiple(REFERENCE_METHOD, records)
    if m is None:
        return None
    return gradient_strength(records[tune_name(REFERENCE_METHOD, m)])


def calibrated_multiple(published: float, target: float) -> float:
    """The multiple of the published weights that brings a gradient
    strength of ``published`` to ``target`` (strength is linear in the
    weight), rounded to :data:`MULTIPLE_SCALE`; where that is 1, the
    neighbour on the side of the exact value, so that the grid always has
    two points."""
    exact = target / published
    rounded = nearest_multiple(exact)
    if rounded == 1.0:
        return 3.0 if exact >= 1.0 else 0.3
    return rounded


def nearest_multiple(exact: float) -> float:
    """``exact`` rounded in log to :data:`MULTIPLE_SCALE`."""
    return min(MULTIPLE_SCALE, key=lambda v: abs(math.log(v / exact)))


def loss_ratios(ratios: Dict[str, float],
                losses: Dict[str, float]) -> Dict[str, float]:
    """A run's gradient ratios (logged term -> ratio) by the loss of the
    config that each term comes from (``losses``: its loss names): a loss
    that returns several terms is logged as ``<name>_<term>``, and its
    ratios add up (as in :func:`gradient_strength`); a loss that logged
    none measured no gradient (0).

    Raises:
        ValueError: a logged term that no loss of the config names.
    """
    out = {name: 0.0 for name in losses}
    for term, ratio in ratios.items():
        owners = [
            name for name in losses
            if term == name or term.startswith(name + '_')
        ]
        if not owners:
            raise ValueError(f'its logged term {term} is none of the '
                             f'config\'s losses {sorted(losses)}; delete the '
                             'record of its published run and rerun it')
        out[term if term in losses else max(owners, key=len)] += ratio
    return out


def per_term_multiples(ratios: Dict[str, float],
                       target: float) -> Dict[str, float]:
    """Term -> the multiple of its published weight that gives it an equal
    share, ``target / n``, of the gradient strength ``target`` (each term's
    strength is linear in its own weight), rounded to
    :data:`MULTIPLE_SCALE`. ``ratios`` are the terms' gradient ratios at
    the published weights; the ``n`` terms that measured a gradient share
    it, and one that measured none keeps its published weight.

    The one-multiple grid keeps a method's published balance between its
    terms, so a term published far weaker than another stays silent at any
    multiple (e.g. SKD's pair-wise term at its calibrated x0.1); this point
    gives every term a voice."""
    share = target / max(sum(r > 0 for r in ratios.values()), 1)
    return {
        k: nearest_multiple(share / r) if r > 0 else 1.0
        for k, r in sorted(ratios.items())
    }


def weight_grid(method: str,
                records: Dict[str, dict]) -> Optional[Tuple[Multiple, ...]]:
    """The multiples of its published weights that ``method`` is tuned
    over: :data:`FULL_WEIGHT_GRID` for :data:`REFERENCE_METHOD`; for every
    other method the published weights and the multiple that gives the
    reference's tuned gradient strength (:func:`calibrated_multiple`,
    measured in the method's published run), and for a method of several
    terms (losses of its config that measured a gradient) the per-term
    point that splits that strength equally among them
    (:func:`per_term_multiples`; left out where it is one of the others).
    None while that is unknown (only the published run can be planned),
    with a warning naming the fix where a record lacks the gradient curve
    it needs."""
    if method == REFERENCE_METHOD:
        return FULL_WEIGHT_GRID
    published = records.get(tune_name(method, 1.0))
    if published is None:
        return None
    try:
        target = reference_strength(records)
        if target is None:
            return None
        c = calibrated_multiple(gradient_strength(published), target)
    except ValueError as err:
        warnings.warn(f'{method}\'s grid is unknown: {err}')
        return None
    grid: List[Multiple] = sorted({1.0, c})
    losses = published_weights(osp.join(CONFIGS, METHODS[method]))
    if len(losses) < 2:
        return tuple(grid)
    try:
        ratios = loss_ratios(early_ratios(published, 'kd_grad_ratio'), losses)
    except ValueError as err:
        warnings.warn(f'{method} has no per-term point: {err}')
        return tuple(grid)
    if sum(r > 0 for r in ratios.values()) > 1:
        terms = per_term_multiples(ratios, target)
        values = set(terms.values())
        if len(values) > 1:
            grid.append(terms)
        else:  # every term at one multiple: a uniform point
            grid = sorted(set(grid) | values)
    return tuple(grid)


def tuned_multiple(method: str, records: Dict[str,
                                              dict]) -> Optional[Multiple]:
    """The multiple of ``method``'s grid with the best val mIoU (a tie goes
    to the published weights, then to the smaller multiple); None until its
    grid is complete."""
    grid = weight_grid(method, records)
    if grid is None:
        return None
    best_so_far, pending = grid_progress(method, grid, records)
    return None if pending else best_so_far


def grid_progress(
        method: str, grid: Tuple[Multiple, ...],
        records: Dict[str, dict]) -> Tuple[Optional[Multiple], List[Multiple]]:
    """The best point of ``method``'s ``grid`` among those with a record
    (a tie goes to the published weights, then to the smaller multiple;
    None without any) and the points still to run."""
    published_first = sorted(grid, key=lambda m: m != 1.0)
    done = [m for m in published_first if tune_name(method, m) in records]
    pending = [m for m in grid if m not in done]
    return best([records[tune_name(method, m)] for m in done],
                'multiple'), pending


def teacher_run() -> dict:
    return dict(
        name=run_name('teacher', 'teacher', 0),
        stage='teacher',
        method='teacher',
        seed=0,
        config=TEACHER_CONFIG,
        options={},
        splits=('val', 'test'))


def config_max_iters(config: str) -> int:
    """The iterations ``config`` (a path relative to the repository) trains
    for: its ``train_cfg.max_iters``."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO, config)).train_cfg.max_iters


def schedule_options(config: str, iters: int) -> Dict[str, int]:
    """The --cfg-options that shorten ``config``'s schedule to ``iters``
    iterations: the loop's length and the end of every parameter scheduler
    that ends with the loop (the student's, a discriminator's), so that the
    learning rate decays over the shorter run exactly as it does over the
    full one."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    full = cfg.train_cfg.max_iters
    options = {'train_cfg.max_iters': iters}
    schedulers = cfg.param_scheduler
    groups = schedulers.items() if isinstance(schedulers,
                                              dict) else [(None, schedulers)]
    for group, entries in groups:
        for i, entry in enumerate(entries):
            if entry.get('end') == full:
                key = f'{i}.end' if group is None else f'{group}.{i}.end'
                options[f'param_scheduler.{key}'] = iters
    return options


def convergence_run() -> dict:
    """The student alone, trained twice as long as the final runs (val
    only): evidence that the protocol's schedule has converged."""
    iters = 2 * config_max_iters(BASELINE_CONFIG)
    return dict(
        name=run_name('check', 'baseline', 0, f'{iters}it'),
        stage='check',
        method='baseline',
        seed=0,
        config=BASELINE_CONFIG,
        options=dict(
            schedule_options(BASELINE_CONFIG, iters),
            **{'train_cfg.val_interval': 1000}),
        splits=('val', ))


def lr_runs() -> List[dict]:
    """The student alone at every learning rate of :data:`LR_GRID`, at the
    tuning schedule (stage ``lr``; their records say ``"stage": "tune"``)."""
    return [
        dict(
            name=run_name('tune', 'baseline', TUNE_SEED, f'lr{lr:g}'),
            stage='tune',
            method='baseline',
            seed=TUNE_SEED,
            config=BASELINE_CONFIG,
            lr=lr,
            options=dict(
                schedule_options(BASELINE_CONFIG, TUNE_ITERS),
                **{'optim_wrapper.optimizer.lr': lr}),
            splits=('val', )) for lr in LR_GRID
    ]


def chosen_lr(records: Dict[str, dict]) -> Optional[float]:
    """The learning rate of the best student alone on val; None until every
    rate of :data:`LR_GRID` has its record."""
    return best([records.get(r['name']) for r in lr_runs()], 'lr')


def lr_options(config: str, lr: float) -> Dict[str, float]:
    """The --cfg-options that give ``config``'s student the shared learning
    rate ``lr`` (empty when the config already has it)."""
    from mmengine.config import Config
    wrapper = Config.fromfile(osp.join(REPO, config)).optim_wrapper
    key = 'optim_wrapper.optimizer.lr'
    if 'student' in wrapper:  # a critic has its own wrapper
        wrapper, key = wrapper.student, 'optim_wrapper.student.optimizer.lr'
    return {} if wrapper.optimizer.lr == lr else {key: lr}


def shares_the_lr(method: str) -> bool:
    """Whether a row's student is the PSPNet trained with the learning rate
    chosen for it (the ESPNet rows keep their student's fixed recipe)."""
    return STUDENT_OF.get(method, 'baseline') == 'baseline'


def tune_runs(methods, records: Dict[str, dict]) -> List[dict]:
    """Every method at every multiple of its :func:`weight_grid` (the
    published weights alone while the rest waits for them), at the
    :data:`TUNE_ITERS` schedule and the chosen learning rate (a row whose
    student shares it waits for :func:`chosen_lr`); then the convergence
    check (at twice the final schedule)."""
    lr = chosen_lr(records)
    runs = []
    for method in methods:
        if shares_the_lr(method) and lr is None:
            continue
        config = osp.join(CONFIGS, METHODS[method])
        shared = lr_options(config, lr) if shares_the_lr(method) else {}
        for m in weight_grid(method, records) or (1.0, ):
            runs.append(
                dict(
                    name=tune_name(method, m),
                    stage='tune',
                    method=method,
                    seed=TUNE_SEED,
                    config=config,
                    multiple=m,
                    options=dict(
                        schedule_options(config, TUNE_ITERS), **shared,
                        **weight_options(config, m)),
                    splits=('val', )))
    # last: nothing waits for it, and it is the longest run of the stage
    return runs + [convergence_run()]


def best(records: List[dict], key: str) -> Optional[float]:
    """The ``key`` (lr or multiple) of the record with the best val mIoU;
    None until every record of the grid is there."""
    if not records or any(r is None for r in records):
        return None
    return max(records, key=lambda r: r['val_mIoU'])[key]


def final_run(method: str, seed: int, config: str, options: dict,
              **extra) -> dict:
    """One final run: ``config`` with ``options``, validated every
    :data:`FINAL_VAL_INTERVAL` iterations, evaluated on val and test."""
    return dict(
        name=run_name('final', method, seed),
        stage='final',
        method=method,
        seed=seed,
        config=config,
        options=dict(options, **{'train_cfg.val_interval':
                                 FINAL_VAL_INTERVAL}),
        splits=('val', 'test'),
        **extra)


def final_runs(methods, records: Dict[str, dict]) -> List[dict]:
    """The final runs whose tuning is complete (chosen lr, weights)."""
    lr = chosen_lr(records)
    if lr is None:
        return []
    runs = [
        final_run(
            'baseline',
            s,
            BASELINE_CONFIG,
            lr_options(BASELINE_CONFIG, lr),
            lr=lr) for s in FINAL_SEEDS
    ]
    for name, config in FIXED_BASELINES.items():
        if any(STUDENT_OF.get(m) == name for m in methods):
            runs += [final_run(name, s, config, {}) for s in FINAL_SEEDS]
    for method in methods:
        config = osp.join(CONFIGS, METHODS[method])
        m = tuned_multiple(method, records)
        if m is None:
            continue
        shared = lr_options(config, lr) if shares_the_lr(method) else {}
        runs += [
            final_run(
                method,
                s,
                config,
                dict(shared, **weight_options(config, m)),
                multiple=m) for s in FINAL_SEEDS
        ]
    return runs


# -------------------------------------------------------------- settings
#: the sections of a config that decide a run's result (not helper
#: variables, logging or checkpoint intervals)
RESULT_SECTIONS = ('model', 'train_dataloader', 'val_dataloader',
                   'test_dataloader', 'val_evaluator', 'test_evaluator',
                   'optim_wrapper', 'param_scheduler', 'train_cfg',
                   'randomness')


def _without_data_roots(obj):
    """``obj`` with every ``data_root`` value replaced by a placeholder:
    where this machine keeps CamVid ($CAMVID_ROOT) does not decide a result,
    and records must be reusable on another machine."""
    if isinstance(obj, dict):
        return {
            k: '<data_root>' if k == 'data_root' else _without_data_roots(v)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [_without_data_roots(v) for v in obj]
    return obj


def resolved_config_hash(config: str, options: dict) -> str:
    """sha256 of the sections of the run's resolved config that decide its
    result (:data:`RESULT_SECTIONS`), so a record is reused only for the
    same settings, whatever file layout gave them."""
    from mmengine.config import Config

    from mmseg_kd.segmentors import resolve_model_entry
    cfg = Config.fromfile(osp.join(REPO, config))
    if options:
        cfg.merge_from_dict(dict(options))
    sections = {k: cfg.get(k) for k in RESULT_SECTIONS}
    model = cfg.model.to_dict()
    for side in ('teacher', 'student'):  # the models, not their files
        if model.get('type') == 'DistillationSegmentor' and side in model:
            resolved, opts = resolve_model_entry(model[side], side)
            model[side] = dict(opts, model=resolved.to_dict())
    sections['model'] = model
    text = json.dumps(
        _without_data_roots(sections), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_hash(path: str) -> Optional[str]:
    if not osp.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:16]


def settings_of(run: dict) -> dict:
    """What a run's result depends on."""
    settings = dict(
        config=run['config'],
        options=run['options'],
        seed=run['seed'],
        resolved=resolved_config_hash(run['config'], run['options']))
    if run['method'] not in ('teacher', ) + BASELINES:
        settings['teacher'] = file_hash(osp.join(REPO, TEACHER_CHECKPOINT))
    return settings


def load_records(folder: str) -> Dict[str, dict]:
    out = {}
    for path in sorted(glob.glob(osp.join(folder, '*.json'))):
        with open(path) as f:
            out[osp.splitext(osp.basename(path))[0]] = json.load(f)
    return out


def is_done(run: dict, records: Dict[str, dict]) -> bool:
    record = records.get(run['name'])
    return record is not None and record.get('settings') == settings_of(run)


# ------------------------------------------------------------- execution
_IOU_ROW = re.compile(r'^\|\s*([A-Za-z][\w ]*?)\s*\|\s*([\d.]+|nan)\s*\|')
_MIOU = re.compile(r'mIoU: ([\d.]+)')


def parse_metrics(log: str) -> dict:
    """mIoU and per-class IoU from a tools/test.py log (mmseg's table)."""
    per_class = {}
    for line in log.splitlines():
        match = _IOU_ROW.match(line.strip())
        if match and match.group(1) != 'Class':
            value = match.group(2)
            per_class[match.group(1)] = None if value == 'nan' else float(
                value)
    found = _MIOU.findall(log)
    if not found:
        raise RuntimeError('no mIoU in the test log')
    return dict(mIoU=float(found[-1]), per_class_IoU=per_class)


def code_version() -> str:
    try:
        return subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'],
                                       cwd=REPO,
                                       text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


#: iterations per window of the training curves a record keeps
CURVE_WINDOW = 1000


def curves_of(work: str) -> dict:
    """What a run logged over time, small enough for its record:
    ``val_curve`` (iteration -> validation mIoU) and ``train_curves`` (each
    logged loss and distillation diagnostic -> iteration at the end of each
    window of :data:`CURVE_WINDOW` iterations -> the mean of its logged
    values in the window). Read from mmengine's scalar logs of every
    ``<timestamp>`` dir of the work dir, in time order, so that a resumed
    run's later values win."""
    from mmseg_kd.visualization import loss_log
    records: List[dict] = []
    for sub in sorted(glob.glob(osp.join(work, '*'))):
        if osp.isdir(sub) and loss_log.TIMESTAMP_DIR.match(osp.basename(sub)):
            for log in loss_log.find_logs(sub):
                if log.endswith('.json'):
                    records += loss_log.read_log(log)
    val = {
        int(r['step']): round(float(r['mIoU']), 2)
        for r in records if 'mIoU' in r and 'step' in r
    }
    series = dict(loss_log.loss_series(records))
    series.update(loss_log.diagnostic_series(records))
    train: Dict[str, Dict[str, float]] = {}
    for key, (its, values) in series.items():
        windows: Dict[int, List[float]] = {}
        for it, value in zip(its, values):
            if value == value and abs(value) != float('inf'):
                end = (int(it) - 1) // CURVE_WINDOW * CURVE_WINDOW
                windows.setdefault(end + CURVE_WINDOW, []).append(value)
        train[key] = {
            str(end): round(statistics.mean(v), 5)
            for end, v in sorted(windows.items())
        }
    return dict(
        val_curve={
            str(k): v
            for k, v in sorted(val.items())
        },
        train_curves=train)


def _options_args(options: dict) -> List[str]:
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
def claimed(work: str):
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


#: seconds between two looks at a training run's log for its pace
WATCH_SECONDS = 30.0

#: an mmengine training log line: its time stamp and iteration
_TRAIN_LINE = re.compile(
    r'^(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) - mmengine - '
    r'\w+ - Iter\(train\)\s*\[\s*(\d+)/(\d+)\]', re.M)


def remaining_seconds(log_text: str) -> Optional[float]:
    """The training time left at the pace that one attempt's log,
    ``log_text``, shows between its first ``Iter(train)`` line and its
    last (their time stamps and iterations); None until two such lines
    are there.

    Not mmengine's logged ETA: that averages over everything since the
    process started, so after ``--resume`` it counts the start-up and the
    dataloader's advance through every trained iteration (minutes) and
    stays inflated long after."""
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
    return span / done * (int(last[6]) - int(last[5]))


def train_until(command: List[str], env: dict, log_path: str,
                deadline: Optional[float]) -> int:
    """Run the training ``command`` (its output appended to ``log_path``)
    and return its exit code; with a ``deadline``, stop it as soon as its
    remaining time at the pace its log shows (:func:`remaining_seconds`)
    plus its evaluation says it would end after it
    (:class:`CannotFinish`): a run that cannot finish only holds a slot
    that a shorter run could use."""
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
            if deadline is None:
                continue
            with open(log_path) as log:
                log.seek(start)
                left = remaining_seconds(log.read())
            if left is not None and (time.time() + left + EVALUATION_SECONDS
                                     > deadline):
                raise CannotFinish(
                    f'its pace ({left / 60:.0f} min of training left, then '
                    'its evaluation) passes --stop-by; stopped (--resume '
                    'continues it from its last checkpoint)')
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
            deadline: Optional[float] = None) -> dict:
    """Train ``run``, evaluate it on its splits, write its record (unless
    another runner holds it: :class:`RunningElsewhere`; or its pace says it
    would end after ``deadline``: :class:`CannotFinish`)."""
    work = osp.join(work_root, run['name'])
    with claimed(work):
        return _execute(run, work, records_dir, deadline)


#: the file in a work dir that names the settings of the run it holds
WORK_SETTINGS = 'settings.json'


def read_record(records_dir: str, name: str) -> Optional[dict]:
    """The record ``name`` in ``records_dir`` as it is on disk (stale or
    not); None if there is none."""
    try:
        with open(osp.join(records_dir, name + '.json')) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


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


def resumable_iteration(run: dict, work: str, record: Optional[dict]) -> int:
    """The iteration ``run`` would resume from in ``work``: its
    :func:`checkpoint_iteration` where the work dir holds this run or
    nothing says otherwise; 0 where it holds another run's files
    (:func:`set_aside_other_run` moves them away before it trains)."""
    return 0 if holds_other_run(run, work,
                                record) else checkpoint_iteration(work)


def _execute(run: dict, work: str, records_dir: str,
             deadline: Optional[float]) -> dict:
    record_path = osp.join(records_dir, run['name'] + '.json')
    aside = set_aside_other_run(run, work, read_record(records_dir,
                                                       run['name']))
    if aside:
        print(
            f'{run["name"]}: its work dir held a run with other settings; '
            f'moved to {aside}',
            flush=True)
    env = dict(
        os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONPATH=REPO)
    options = dict(run['options'], **{'randomness.seed': run['seed']})
    log_path = osp.join(work, 'train.log')
    start = time.time()
    # --resume: a run interrupted earlier (a session that ended) continues
    # from its last checkpoint, exactly; a fresh work dir starts from zero
    code = train_until([
        sys.executable, 'tools/train.py', run['config'], '--work-dir', work,
        '--resume', '--cfg-options'
    ] + _options_args(options), env, log_path, deadline)
    train_seconds = time.time() - start
    if code != 0:
        raise RuntimeError(f'{run["name"]}: training failed; see {log_path}')
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    with open(log_path) as log:
        resumed = re.findall(r'resumed epoch: \d+, iter: (\d+)', log.read())
    record = dict(
        method=run['method'],
        seed=run['seed'],
        stage=run['stage'],
        settings=settings_of(run),
        train_seconds=round(train_seconds),
        resumed_at=[int(i) for i in resumed],
        code_version=code_version(),
        date=time.strftime('%Y-%m-%d %H:%M'))
    for key in ('lr', 'multiple'):
        if key in run:
            record[key] = run[key]
    record.update(curves_of(work))
    if run['method'] not in ('teacher', ) + BASELINES:
        record['published_weights'] = published_weights(run['config'])
        record['loss_weights'] = {
            k: v * term_multiple(run.get('multiple', 1.0), k)
            for k, v in record['published_weights'].items()
        }
    for split in run['splits']:
        test_options = {} if split == 'test' else {
            'test_dataloader.dataset.data_prefix.img_path': 'img_dir/val',
            'test_dataloader.dataset.data_prefix.seg_map_path': 'ann_dir/val'
        }
        with open(osp.join(work, f'{split}.log'), 'w') as log:
            code = subprocess.call(
                [
                    sys.executable, 'tools/test.py', run['config'], checkpoint,
                    '--work-dir',
                    osp.join(work, split), '--cfg-options'
                ] + _options_args(dict(options, **test_options)),
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT)
        with open(osp.join(work, f'{split}.log')) as log:
            text = log.read()
        if code != 0:
            raise RuntimeError(f'{run["name"]}: evaluation on {split} '
                               f'failed; see {work}/{split}.log')
        metrics = parse_metrics(text)
        record[f'{split}_mIoU'] = metrics['mIoU']
        record[f'{split}_per_class_IoU'] = metrics['per_class_IoU']
    if run['stage'] == 'teacher':
        target = osp.join(REPO, TEACHER_CHECKPOINT)
        save_teacher_weights(checkpoint, target)
        record['checkpoint_sha256'] = file_hash(target)
    os.makedirs(records_dir, exist_ok=True)
    with open(record_path, 'w') as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write('\n')
    return record


def teacher_ready() -> bool:
    return osp.isfile(osp.join(REPO, TEACHER_CHECKPOINT))


#: added to a run's expected training time: its evaluation with
#: ``tools/test.py`` and the start-up, with some margin (seconds)
EVALUATION_SECONDS = 300


def iterations_of(record: dict) -> int:
    """The iterations a finished run trained (its last curve window)."""
    windows = [
        int(k) for c in record.get('train_curves', {}).values() for k in c
    ]
    return max(windows, default=0)


def is_distillation(method: str) -> bool:
    """Whether a row trains a student with a teacher."""
    return method not in BASELINES and method != 'teacher'


def student_of(method: str) -> str:
    """The student alone a row trains (itself for a student alone or the
    teacher)."""
    if not is_distillation(method):
        return method
    return STUDENT_OF.get(method, 'baseline')


def planned_iterations(run: dict) -> int:
    """The iterations ``run`` will train: its ``--cfg-options``' or its
    config's."""
    if 'train_cfg.max_iters' in run['options']:
        return run['options']['train_cfg.max_iters']
    return config_max_iters(run['config'])


def iteration_seconds(run: dict, records: Dict[str, dict]) -> Optional[float]:
    """Seconds per training iteration ``run`` should take, from finished,
    uninterrupted runs: of the same method; else of the same kind (student
    alone or distillation) with the same student; else, for a distillation
    row whose student has none, its student alone's rate plus what a teacher
    added to the PSPNet student's. None without any. The median of the
    machines the records were made on: :func:`run_all` corrects it by this
    machine's pace."""

    def rate(match) -> Optional[float]:
        rates = [
            r['train_seconds'] / iterations_of(r) for r in records.values()
            if match(r.get('method', '')) and not r.get('resumed_at')
            and iterations_of(r) and r.get('train_seconds')
        ]
        return statistics.median(rates) if rates else None

    method = run['method']
    per_iteration = rate(lambda m: m == method) or rate(
        lambda m: student_of(m) == student_of(method) and is_distillation(
            m) == is_distillation(method))
    if per_iteration is None and is_distillation(method):
        alone = rate(lambda m: m == student_of(method))
        with_teacher = rate(
            lambda m: is_distillation(m) and student_of(m) == 'baseline')
        pspnet_alone = rate(lambda m: m == 'baseline')
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


def observed_pace(record: dict, estimate: Optional[float]) -> Optional[float]:
    """A finished run's seconds per iteration over ``estimate`` (its
    :func:`iteration_seconds` when it started); None for a resumed run (its
    time covers a part) or without an estimate."""
    iterations = iterations_of(record)
    if not estimate or record.get('resumed_at') or not iterations:
        return None
    return record['train_seconds'] / iterations / estimate


def parse_deadline(text: str, now: float) -> float:
    """``HH:MM`` (local time) as epoch seconds: the next such time after
    ``now``, when the machine will be gone, so that no run is started that
    cannot finish by then (its work dir would be lost with it).

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


def next_run(stages, methods, records: Dict[str, dict],
             skip) -> Optional[dict]:
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


def run_all(stages, args, records: Dict[str, dict]) -> None:
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
    # rates come from the records as they were at the start, corrected by
    # this machine's pace learned from the runs finished here (the runs
    # finished here in the rates as well would count this machine twice)
    rated_records = dict(records)
    paces: List[float] = []
    if args.stop_by is not None:
        print('Starting no run that cannot finish by '
              f'{time.strftime("%a %H:%M", time.localtime(args.stop_by))}.')

    def stamp() -> str:
        return f'[{time.strftime("%H:%M")}]'

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        # each run with its seconds per iteration estimated at its start
        running: Dict[concurrent.futures.Future, Tuple[dict,
                                                       Optional[float]]] = {}
        while True:
            while len(running) < args.jobs and (args.max_runs is None
                                                or started < args.max_runs):
                busy = skip | cannot_finish | {
                    r['name']
                    for r, _ in running.values()
                }
                # runs that another runner finished since (side by side)
                on_disk, _, _ = current_records(args.methods,
                                                load_records(args.records))
                records.update({
                    n: r
                    for n, r in on_disk.items() if n not in records
                })
                run = next_run(stages, args.methods, records, busy)
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
                    need = expected_seconds(
                        run, rated_records, pace,
                        resumable_iteration(
                            run, osp.join(args.work_dir, run['name']),
                            read_record(args.records, run['name'])))
                    left = args.stop_by - time.time()
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
                running[pool.submit(execute, run, args.work_dir, args.records,
                                    args.stop_by)] = (run,
                                                      iteration_seconds(
                                                          run, rated_records))
                started += 1
                print(f'{stamp()} started {run["name"]}', flush=True)
            if not running:
                return
            done, _ = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                run, estimate = running.pop(future)
                try:
                    record = future.result()
                except RunningElsewhere as err:
                    print(f'{stamp()} skipped: {err}', flush=True)
                    skip.add(run['name'])
                    continue
                except CannotFinish as err:
                    print(
                        f'{stamp()} stopped {run["name"]}: {err}', flush=True)
                    cannot_finish.add(run['name'])
                    continue
                except RuntimeError as err:
                    print(f'{stamp()} FAILED {err}', flush=True)
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


# ----------------------------------------------------------------- table
def summary(values: List[float]):
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def verdict(diff: float, std: float) -> str:
    """The mark of a complete row's gap ``diff`` to the student alone, given
    the larger ``std`` of the two rows: ``' (falls short)'`` below it,
    ``' (> 2 std)'`` above it by more than twice ``std`` (the issue's
    target for the best method), else ``''``."""
    if diff < 0:
        return ' (falls short)'
    return ' (> 2 std)' if diff > 2 * std else ''


def finals_by_method(
        records: Dict[str, dict],
        names: Optional[Iterable[str]] = None) -> Dict[str, List[dict]]:
    """Method -> its final runs' records in seed order (of ``names`` only,
    when given)."""
    chosen = records if names is None else {n: records[n] for n in names}
    by_method: Dict[str, List[dict]] = {}
    for r in sorted(chosen.values(), key=lambda r: r['seed']):
        if r['stage'] == 'final':
            by_method.setdefault(r['method'], []).append(r)
    return by_method


def table(records: Dict[str, dict], superseded: Iterable[str] = ()) -> str:
    """The markdown table of the final runs (mean, std and per-seed test
    mIoU; chosen and published weights; the gap to the student alone).

    Args:
        records (dict): run name -> record.
        superseded (Iterable[str]): final runs whose settings the plan no
            longer wants (their row's tuning chose other weights since):
            left out of the table and listed after it, so that a row never
            mixes seeds of two settings.
    """
    superseded = set(superseded)
    current = finals_by_method(records,
                               [n for n in records if n not in superseded])
    teacher = records.get(run_name('teacher', 'teacher', 0))
    lines = []
    if teacher:
        lines.append(f'Teacher (PSPNet-R18 at width 32, trained alone under '
                     f'the protocol): test mIoU {teacher["test_mIoU"]:.2f}, '
                     f'val {teacher["val_mIoU"]:.2f}.\n')
    students = {
        name: summary([r['test_mIoU'] for r in current[name]])
        for name in BASELINES if current.get(name)
    }
    lines.append(final_rows(current, students))
    if superseded:
        lines.append(
            'Superseded: final runs at weights that their row\'s tuning '
            'no longer chooses (a grid point added later won on val); they '
            'are redone at the new weights (`run --rerun-stale`), and are '
            'compared here with the same student alone:\n\n' +
            final_rows(finals_by_method(records, superseded), students))
    return '\n'.join(lines)


def final_rows(by_method: Dict[str, List[dict]],
               students: Dict[str, Tuple[float, float]]) -> str:
    """The rows of :func:`table` for ``by_method``'s final runs, each
    distillation row compared with its student alone in ``students``
    (name -> test mean, std)."""
    lines = [
        '| method | weights (x published) | test mIoU, mean +- std | '
        'vs. student alone | per seed | val mIoU |',
        '|---|---|---|---|---|---|'
    ]
    order = ['baseline'] + [m for m in METHODS if m not in STUDENT_OF]
    for name in FIXED_BASELINES:
        order += [name] + [m for m, s in STUDENT_OF.items() if s == name]
    for method in order:
        runs = by_method.get(method)
        if not runs:
            continue
        tests = [r['test_mIoU'] for r in runs]
        mean, std = summary(tests)
        partial = (f' ({len(runs)} of {len(FINAL_SEEDS)} seeds)'
                   if len(runs) < len(FINAL_SEEDS) else '')
        if method in BASELINES:
            lr = runs[0].get('lr')
            weights = 'student alone' + (f', lr {lr}' if lr else '')
            gap = ''
        else:
            weights = multiple_label(runs[0]['multiple'])
            base_mean, base_std = students.get(
                STUDENT_OF.get(method, 'baseline'), (float('nan'), 0.0))
            diff = mean - base_mean
            gap = f'{diff:+.2f}' + ('' if partial else verdict(
                diff, max(std, base_std)))
        vals = statistics.mean(r['val_mIoU'] for r in runs)
        lines.append(
            f'| {method}{partial} | {weights} | {mean:.2f} +- {std:.2f} | '
            f'{gap} | ' + ', '.join(f'{v:.2f}'
                                    for v in tests) + f' | {vals:.2f} |')
    return '\n'.join(lines) + '\n'


def tuning_table(records: Dict[str, dict]) -> str:
    """Val mIoU of every tuning run, by method and grid value."""
    tunes = [r for r in records.values() if r['stage'] == 'tune']
    lines = ['| method | grid value | val mIoU |', '|---|---|---|']

    def order(r):
        return r['method'], multiple_order(r.get('multiple', r.get('lr')))

    for r in sorted(tunes, key=order):
        value = (f'lr {r["lr"]}' if r['method'] == 'baseline' else
                 multiple_label(r['multiple']))
        lines.append(f'| {r["method"]} | {value} | {r["val_mIoU"]:.2f} |')
    return '\n'.join(lines) + '\n'


#: the distillation diagnostics a record's curves hold, as the table names
#: them: (curve prefix, column heading)
DIAGNOSTICS = (('kd_ratio', 'term / task loss'),
               ('kd_grad_ratio', 'gradient norm / task loss\'s'),
               ('kd_cosine', 'cosine with the task gradient'),
               ('kd_agreement', 'agreement with the teacher (%)'))


def curve_span(windows: Dict[str, float]) -> str:
    """A curve over training as ``first -> last (min .. max)``."""
    values = [windows[k] for k in sorted(windows, key=int)]
    return (f'{values[0]:.3g} -> {values[-1]:.3g} '
            f'({min(values):.3g} .. {max(values):.3g})')


def diagnostics_table(methods, records: Dict[str, dict]) -> str:
    """The measured evidence of what every distillation term did in every
    tuning and final run: per term, over the 1000-iteration windows of its
    record, its value and gradient norm relative to the task loss's, the
    cosine of its gradient with the task gradient on the student (negative:
    it fights the task) and, for logit terms, the student's agreement with
    the teacher."""
    lines = [
        '| method | run | term | ' + ' | '.join(h for _, h in DIAGNOSTICS) +
        ' | val mIoU |', '|---|---|---|' + '---|' * (len(DIAGNOSTICS) + 1)
    ]
    runs = [
        r for r in records.values()
        if r.get('method') in methods and r['stage'] in ('tune', 'final')
    ]

    def order(r):
        return (list(METHODS).index(r['method']), r['stage']
                != 'tune', multiple_order(r.get('multiple')), r['seed'])

    for r in sorted(runs, key=order):
        label = (f'tune {multiple_label(r["multiple"])}'
                 if r['stage'] == 'tune' else f'final s{r["seed"]}')
        curves = r.get('train_curves', {})
        terms = sorted({
            key.split('/', 1)[1]
            for key in curves
            for prefix, _ in DIAGNOSTICS if key.startswith(prefix + '/')
        })
        for term in terms:
            cells = [
                curve_span(curves[f'{prefix}/{term}'])
                if curves.get(f'{prefix}/{term}') else ''
                for prefix, _ in DIAGNOSTICS
            ]
            lines.append(f'| {r["method"]} | {label} | {term} | ' +
                         ' | '.join(cells) + f' | {r["val_mIoU"]:.2f} |')
    return '\n'.join(lines) + '\n'


def diagnostics_document(methods, records: Dict[str, dict]) -> str:
    """docs/benchmarks/camvid_diagnostics.md: :func:`diagnostics_table`
    under a heading that says how it was made."""
    return ('# CamVid distillation diagnostics (CPU protocol)\n\n'
            'Written by `python tools/benchmarks/camvid_quality.py '
            'diagnostics --out docs/benchmarks/camvid_diagnostics.md` from '
            'the records in `docs/benchmarks/camvid/records/`; each '
            'diagnostic over the 1000-iteration windows of a run, as '
            '`first -> last (min .. max)`; what each measures: '
            '`docs/benchmarks.md`.\n\n' + diagnostics_table(methods, records))


def value_ratio(record: dict) -> float:
    """The sum of a run's distillation terms over the task loss
    (``kd_ratio``) over its first 1000 iterations."""
    return sum(early_ratios(record, 'kd_ratio').values())


def calibration_table(methods, records: Dict[str, dict]) -> str:
    """Do calibrated weights reach the tuned ones? For every method with a
    complete grid, measured in its tuning runs over their first 1000
    iterations: the sum of its terms over the task loss (``kd_ratio``,
    what ``Calibrated(ratio=r)`` fixes) and each term's gradient norm on
    the student over the task loss's (``kd_grad_ratio``, what
    ``Calibrated(on='grad')`` fixes), at the published and at the tuned
    weights; and the multiples of the published weights that calibrating
    to :data:`REFERENCE_METHOD`'s tuned value ratio or gradient strength
    gives (unrounded). Every other method's second grid point is the
    gradient one, rounded (:func:`weight_grid`), so its row says whether
    that calibrated weight beat the published one on val. A grid with two
    points done and more to run has its row, its tuned weight marked as
    the best so far."""
    reference = tuned_multiple(REFERENCE_METHOD, records)
    if reference is None:
        return 'The reference method has no complete grid yet.\n'
    reference_record = records[tune_name(REFERENCE_METHOD, reference)]
    target_value = value_ratio(reference_record)
    target_grad = gradient_strength(reference_record)

    def grads(record):
        return ', '.join(
            f'{k} {v:.3g}'
            for k, v in sorted(early_ratios(record, 'kd_grad_ratio').items()))

    def multiple_for(target: float, measured: float) -> str:
        return f'x{target / measured:.2g}' if measured > 0 else 'n/a'

    lines = [
        f'Reference: {REFERENCE_METHOD} at its tuned weights, terms / task '
        f'loss r = {target_value:.3g}, gradient strength '
        f'g = {target_grad:.3g}.\n',
        '| method | grid (x published) | tuned | val mIoU tuned / published '
        '| terms / task loss, published -> tuned | gradient ratios, '
        'published | gradient ratios, tuned | calibrated to r | '
        'calibrated to g |', '|---|---|---|---|---|---|---|---|---|'
    ]
    for method in methods:
        grid = weight_grid(method, records) or ()
        m, pending = grid_progress(method, grid, records)
        if len(grid) - len(pending) < 2:
            continue
        tuned = records[tune_name(method, m)]
        published = records[tune_name(method, 1.0)]
        so_far = ' so far ({} to run)'.format(', '.join(
            'per term' if isinstance(v, dict) else multiple_label(v)
            for v in pending)) if pending else ''
        points = [
            f'per term ({multiple_label(v)})'
            if isinstance(v, dict) else f'{v:g}' for v in grid
        ]
        lines.append(
            f'| {method} | {", ".join(points)} | '
            f'{multiple_label(m)}{so_far} | '
            f'{tuned["val_mIoU"]:.2f} / '
            f'{published["val_mIoU"]:.2f} | {value_ratio(published):.3g} -> '
            f'{value_ratio(tuned):.3g} | {grads(published)} | {grads(tuned)} '
            f'| {multiple_for(target_value, value_ratio(published))} | '
            f'{multiple_for(target_grad, gradient_strength(published))} |')
    return '\n'.join(lines) + '\n'


# ----------------------------------------------------------------- plots
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _curve(record: dict):
    points = sorted((int(k), v) for k, v in record['val_curve'].items())
    return [p[0] for p in points], [p[1] for p in points]


def plot_val_curves(records: Dict[str, dict], out_file: str) -> None:
    """Validation mIoU over training: the student alone at every tuned
    learning rate and at twice the schedule, the teacher, and for each row
    with final runs the mean over its seeds (band: +- one std)."""
    fig = _figure(10, 5.5)
    ax = fig.add_subplot(1, 1, 1)
    for name, r in sorted(records.items()):
        if 'val_curve' not in r or r['stage'] == 'final':
            continue
        its, values = _curve(r)
        if r['method'] == 'teacher':
            label, style = 'teacher (width 32)', dict(color='black')
        elif r['stage'] == 'check':
            label, style = (f'student alone, {its[-1]} iterations, seed '
                            f'{r["seed"]} (check)'), dict(
                                color='tab:gray', linestyle='--')
        elif r['method'] == 'baseline':
            label, style = (f'student alone, lr {r["lr"]:g}, {its[-1]} '
                            f'iterations, seed {r["seed"]} (tune)'), dict(
                                linestyle=':')
        else:
            continue  # the tuning of the methods: see the tuning table
        ax.plot(its, values, label=label, linewidth=1.2, **style)
    by_method: Dict[str, List[dict]] = {}
    for r in records.values():
        if r['stage'] == 'final' and 'val_curve' in r:
            by_method.setdefault(r['method'], []).append(r)
    for method, runs in sorted(by_method.items()):
        curves = [dict(zip(*_curve(r))) for r in runs]
        its = sorted(set.intersection(*(set(c) for c in curves)))
        stats = [summary([c[i] for c in curves]) for i in its]
        mean = [m for m, _ in stats]
        line, = ax.plot(
            its,
            mean,
            linewidth=1.5,
            label=(f'{"student alone" if method == "baseline" else method}'
                   f' (final, mean of {len(runs)} seed'
                   f'{"s" if len(runs) > 1 else ""})'))
        ax.fill_between(
            its, [m - d for m, d in stats], [m + d for m, d in stats],
            color=line.get_color(),
            alpha=0.15)
    ax.set_xlabel('iteration')
    ax.set_ylabel('val mIoU')
    ax.grid(True, alpha=0.3)
    ax.legend(
        fontsize=7,
        loc='upper left',
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0)
    fig.tight_layout()
    fig.savefig(out_file)


def plot_results(records: Dict[str, dict], out_file: str) -> bool:
    """Test mIoU per row of the final runs: mean +- std and each seed, with
    the mean of the row's own student alone (:func:`student_of`: the PSPNet
    or the ESPNet) as a red mark across the row. False when no row is
    complete."""
    by_method: Dict[str, List[float]] = {}
    for r in records.values():
        if r['stage'] == 'final':
            by_method.setdefault(r['method'], []).append(r['test_mIoU'])
    rows = [
        m for m in ('baseline', ) + tuple(METHODS) + BASELINES
        if len(by_method.get(m, ())) >= len(FINAL_SEEDS)
    ]
    rows = list(dict.fromkeys(rows))
    if not rows:
        return False
    fig = _figure(8, 0.35 * len(rows) + 1.2)
    ax = fig.add_subplot(1, 1, 1)
    for y, method in enumerate(rows):
        mean, std = summary(by_method[method])
        ax.errorbar(mean, y, xerr=std, fmt='o', color='tab:blue', capsize=3)
        ax.plot(
            by_method[method], [y] * len(by_method[method]),
            'x',
            color='tab:gray',
            markersize=4)
    label = 'its student alone (mean)'
    for y, method in enumerate(rows):
        if student_of(method) in rows:
            alone = summary(by_method[student_of(method)])[0]
            ax.plot([alone, alone], [y - 0.4, y + 0.4],
                    color='tab:red',
                    linewidth=1.0,
                    label=label)
            label = None  # one legend entry
    if label is None:
        ax.legend(fontsize=7, loc='lower right')
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('test mIoU (mean +- std; x: seeds)')
    ax.grid(True, axis='x', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file)
    return True


# ------------------------------------------------------------------ main
def stage_runs(stage: str, methods, records: Dict[str, dict]) -> List[dict]:
    """The runs of one stage that the records so far allow."""
    if stage == 'teacher':
        return [teacher_run()]
    if stage == 'lr':
        return lr_runs()
    if stage == 'tune':
        return tune_runs(methods, records)
    return final_runs(methods, records)


def planned(methods, records) -> List[dict]:
    return [
        run for stage in STAGES for run in stage_runs(stage, methods, records)
    ]


def current_records(
        methods, records: Dict[str,
                               dict]) -> Tuple[Dict[str, dict], list, list]:
    """The records that the plan, derived from them, still wants with the
    settings they were made with, and the names of the others (stale).

    A stale record decides nothing: dropping it can change what is planned
    (a grid's second point comes from the published run and KD's grid), so
    the plan is derived again until no planned run has a stale record.

    Returns:
        tuple: the current records (those the plan does not name are kept:
        nothing is decided by them), the stale names in plan order, and the
        plan derived from the current records (:func:`planned`).
    """
    current, stale = dict(records), []
    while True:
        plan = planned(methods, current)
        found = [
            run['name'] for run in plan
            if run['name'] in current and not is_done(run, current)
        ]
        if not found:
            return current, stale, plan
        stale += found
        for name in found:
            del current[name]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'command',
        choices=('plan', 'run', 'table', 'calibration', 'diagnostics', 'plot'))
    parser.add_argument('--stage', default='all', choices=STAGES + ('all', ))
    parser.add_argument(
        '--methods', nargs='+', choices=list(METHODS), default=list(METHODS))
    parser.add_argument('--jobs', type=int, default=1)
    parser.add_argument('--max-runs', type=int)
    parser.add_argument(
        '--stop-by',
        type=lambda text: parse_deadline(text, time.time()),
        help='run: HH:MM (local time) by which the machine goes away; no '
        'run is started that its measured rate says cannot finish by then, '
        'and a run whose own ETA passes it is stopped')
    parser.add_argument('--rerun-stale', action='store_true')
    parser.add_argument('--records', default=RECORDS)
    parser.add_argument(
        '--work-dir', default=osp.join(REPO, 'work_dirs', 'camvid_cpu'))
    parser.add_argument('--out', help='table: also write it to this file')
    parser.add_argument(
        '--plot-dir',
        default=osp.join(REPO, 'docs', 'benchmarks', 'camvid'),
        help='plot: where val_curves.png and results.png go')
    args = parser.parse_args(argv)
    records = load_records(args.records)
    if args.command in ('plan', 'plot', 'table'):
        current, stale, plan = current_records(args.methods, records)
        # final runs the plan now wants with other settings (redone)
        superseded = [n for n in stale if records[n]['stage'] == 'final']
        shown = {n: r for n, r in records.items() if n not in superseded}
    if args.command == 'plan':
        for run in plan:
            state = 'done' if is_done(run, current) else (
                'stale' if run['name'] in stale else 'todo')
            print(f'{state:5s} {run["name"]}')
        return
    if args.command == 'plot':
        os.makedirs(args.plot_dir, exist_ok=True)
        plot_val_curves(shown, osp.join(args.plot_dir, 'val_curves.png'))
        print(f'wrote {args.plot_dir}/val_curves.png')
        if plot_results(shown, osp.join(args.plot_dir, 'results.png')):
            print(f'wrote {args.plot_dir}/results.png')
        return
    if args.command in ('calibration', 'diagnostics'):
        document = (
            calibration_table
            if args.command == 'calibration' else diagnostics_document)
        text = document(args.methods, records)
        print(text)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text)
        return
    if args.command == 'table':
        done = sum(is_done(run, current) for run in plan)
        text = ('# CamVid distillation quality (CPU protocol)\n\n'
                'Written by `python tools/benchmarks/camvid_quality.py '
                'table --out docs/benchmarks/camvid_quality.md` from the '
                'records in `docs/benchmarks/camvid/records/`; protocol '
                f'in `docs/benchmarks.md`. {done} of the {len(plan)} runs '
                'planned so far are done (a method\'s final runs are '
                'planned once its tuning is complete; `... '
                'camvid_quality.py plan` lists them). A row appears with its '
                'first final run; until its three seeds are in, it says '
                'how many it has and its gap is not judged; then the gap '
                'says "(> 2 std)" where it meets the issue\'s target for the '
                'best method (above the student alone by more than twice '
                'the larger std) and "(falls short)" where the row is '
                'below the student alone (the measurements that explain '
                'it: docs/benchmarks/camvid_diagnostics.md).\n\n' +
                table(records, superseded) + '\nTuning (val split):\n\n' +
                tuning_table(records))
        print(text)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text)
        return
    run_all(STAGES if args.stage == 'all' else (args.stage, ), args, records)


if __name__ == '__main__':
    main()
