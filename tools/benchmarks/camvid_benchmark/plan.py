# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The runs of each stage that the records so far allow (each a config
file of the protocol with its ``--cfg-options``), and the records that the
plan derived from them still wants."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .grid import (beats_its_grid_row, best, tune_name, tuned_multiple,
                   weight_grid, weight_options)
from .protocol import (BASELINE_CONFIG, CONFIGS, FINAL_SEEDS,
                       FINAL_VAL_INTERVAL, FIXED_BASELINES, LR_GRID, METHODS,
                       SET_IN_TRAINING, STAGES, STUDENT_OF, TEACHER_CONFIG,
                       TUNE_ITERS, TUNE_SEED, config_max_iters, load_config,
                       run_name, shares_the_lr)
from .records import is_done


def teacher_run() -> dict:
    """The teacher trained alone (seed 0), evaluated on val and test."""
    return dict(
        name=run_name('teacher', 'teacher', 0),
        stage='teacher',
        method='teacher',
        seed=0,
        config=TEACHER_CONFIG,
        options={},
        splits=('val', 'test'))


def schedule_options(config: str, iters: int) -> Dict[str, int]:
    """The --cfg-options that shorten ``config``'s schedule to ``iters``
    iterations: the loop's length and the end of every parameter scheduler
    that ends with the loop (the student's, a discriminator's), so that the
    learning rate decays over the shorter run exactly as it does over the
    full one."""
    cfg = load_config(config)
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
    wrapper = load_config(config).optim_wrapper
    key = 'optim_wrapper.optimizer.lr'
    if 'student' in wrapper:  # a critic has its own wrapper
        wrapper, key = wrapper.student, 'optim_wrapper.student.optimizer.lr'
    return {} if wrapper.optimizer.lr == lr else {key: lr}


def tune_runs(methods: Sequence[str], records: Dict[str, dict]) -> List[dict]:
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


def final_runs(methods: Sequence[str], records: Dict[str, dict]) -> List[dict]:
    """The final runs whose tuning is complete (chosen lr, weights); for a
    row whose weights are set in training, only once its tuning run has
    beaten the point its grid row chose (:func:`beats_its_grid_row`)."""
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
        if method in SET_IN_TRAINING and not beats_its_grid_row(
                method, records):
            continue  # val decides: its grid row's weights won (or wait)
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


def stage_runs(stage: str, methods: Sequence[str],
               records: Dict[str, dict]) -> List[dict]:
    """The runs of one stage that the records so far allow."""
    if stage == 'teacher':
        return [teacher_run()]
    if stage == 'lr':
        return lr_runs()
    if stage == 'tune':
        return tune_runs(methods, records)
    return final_runs(methods, records)


def planned(methods: Sequence[str], records: Dict[str, dict]) -> List[dict]:
    """Every run of every stage that the records so far allow, in stage
    order."""
    return [
        run for stage in STAGES for run in stage_runs(stage, methods, records)
    ]


def current_records(
        methods: Sequence[str],
        records: Dict[str,
                      dict]) -> Tuple[Dict[str, dict], List[str], List[dict]]:
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
