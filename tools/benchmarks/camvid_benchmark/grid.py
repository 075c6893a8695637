# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Loss-weight grids: the multiples of a method's published loss weights
that it is tuned over (the reference method's full grid; for every other
method the published weights, the multiple calibrated to the reference's
tuned gradient strength and, for several terms, a per-term point), derived
from the tuning records, and the point each grid chose."""
import math
import os.path as osp
import warnings
from typing import Dict, List, Optional, Tuple, Union

from .protocol import (CONFIGS, FULL_WEIGHT_GRID, METHODS, MULTIPLE_SCALE,
                       REFERENCE_METHOD, SET_IN_TRAINING, TUNE_SEED,
                       published_weights, run_name)

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


def later_gradient_strength(record: dict) -> Optional[float]:
    """What :func:`gradient_strength` misses: the mean over a record's
    curve windows after the first of its terms' summed gradient ratios
    (``kd_grad_ratio``). A term whose pull fades once the student has left
    its random start (KD with logit standardisation, DIST) is strong in
    the first window and weak here, so a weight calibrated on the first
    window alone switches it off for the rest of training. None for a
    record with no later window."""
    sums: Dict[int, float] = {}
    for key, windows in record.get('train_curves', {}).items():
        if key.startswith('kd_grad_ratio/') and windows:
            first = min(windows, key=int)
            for window, ratio in windows.items():
                if window != first:
                    sums[int(window)] = sums.get(int(window), 0.0) + ratio
    return sum(sums.values()) / len(sums) if sums else None


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
    (:func:`per_term_multiples`; left out where it is one of the others);
    for a row whose weights are set in training
    (:data:`SET_IN_TRAINING`), its config as it is, ``(1.0, )``.
    None while that is unknown (only the published run can be planned),
    with a warning naming the fix where a record lacks the gradient curve
    it needs."""
    if method == REFERENCE_METHOD:
        return FULL_WEIGHT_GRID
    if method in SET_IN_TRAINING:  # its config as it is, no grid
        return (1.0, )
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


def beats_its_grid_row(method: str, records: Dict[str, dict]) -> bool:
    """Whether the one tuning run of ``method``, a row whose weights are
    set in training (:data:`SET_IN_TRAINING`), has a better val mIoU than
    the point that the row it is compared with chose (:func:`tuned_multiple`):
    val decides, as it does within a grid. False while either is unknown,
    and on a tie (the grid's weights, published or tuned, win it)."""
    row = SET_IN_TRAINING[method]
    own = records.get(tune_name(method, 1.0))
    chosen = tuned_multiple(row, records)
    if own is None or chosen is None:
        return False
    return own['val_mIoU'] > records[tune_name(row, chosen)]['val_mIoU']


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


def best(records: List[dict], key: str) -> Optional[float]:
    """The ``key`` (lr or multiple) of the record with the best val mIoU;
    None until every record of the grid is there."""
    if not records or any(r is None for r in records):
        return None
    return max(records, key=lambda r: r['val_mIoU'])[key]
