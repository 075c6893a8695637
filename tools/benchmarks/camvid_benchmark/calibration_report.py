# Copyright (c) mmseg_kd contributors. All rights reserved.
"""docs/benchmarks/camvid_calibration.md: do calibrated loss weights reach
the tuned ones? Weights calibrated offline from the tuning runs' first
1000 iterations against each grid's tuned point, and weights set in
training (``Calibrated``) against the grid of the row they are compared
with."""
from typing import Dict, Optional, Sequence

from .grid import (early_ratios, gradient_strength, grid_progress,
                   later_gradient_strength, multiple_label, tune_name,
                   tuned_multiple, weight_grid)
from .plan import lr_runs
from .protocol import METHODS, REFERENCE_METHOD, published_row
from .reports import is_calibrated


def value_ratio(record: dict) -> float:
    """The sum of a run's distillation terms over the task loss
    (``kd_ratio``) over its first 1000 iterations."""
    return sum(early_ratios(record, 'kd_ratio').values())


#: a term whose gradient strength after the first 1000 iterations is
#: under 1/FADED of its strength in them "fades" (the calibration table)
FADED = 5.0


def calibration_table(methods: Sequence[str], records: Dict[str, dict]) -> str:
    """Do calibrated weights reach the tuned ones? For every method with a
    complete grid, measured in its tuning runs over their first 1000
    iterations: the sum of its terms over the task loss (``kd_ratio``,
    what ``Calibrated(ratio=r)`` fixes) and each term's gradient norm on
    the student over the task loss's (``kd_grad_ratio``, what
    ``Calibrated(on='grad')`` fixes), at the published and at the tuned
    weights; and the multiples of the published weights that calibrating
    to :data:`REFERENCE_METHOD`'s tuned value ratio or gradient strength
    gives (unrounded); and, because those first 1000 iterations can
    mislead, the tuned run's gradient strength there and over the rest of
    training (:func:`later_gradient_strength`), "fades" where the rest is
    under a fifth of the start. Every other method's second grid point is
    the gradient one, rounded (:func:`weight_grid`), so its row says whether
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

    def strength_over_training(record):
        start, rest = gradient_strength(record), later_gradient_strength(
            record)
        if rest is None:
            return f'{start:.3g} -> n/a'
        fades = ' (fades)' if rest < start / FADED else ''
        return f'{start:.3g} -> {rest:.3g}{fades}'

    lines = [
        f'Reference: {REFERENCE_METHOD} at its tuned weights, terms / task '
        f'loss r = {target_value:.3g}, gradient strength '
        f'g = {target_grad:.3g}.\n',
        '| method | grid (x published) | tuned | val mIoU tuned / published '
        '| terms / task loss, published -> tuned | gradient ratios, '
        'published | gradient ratios, tuned | gradient strength, tuned: '
        'first 1000 iterations -> rest | calibrated to r | '
        'calibrated to g |', '|---|---|---|---|---|---|---|---|---|---|'
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
            f'| {strength_over_training(tuned)} '
            f'| {multiple_for(target_value, value_ratio(published))} | '
            f'{multiple_for(target_grad, gradient_strength(published))} |')
    return '\n'.join(lines) + '\n'


def weight_settings(weight: dict) -> str:
    """A weight set in training as the table shows it:
    ``Calibrated(ratio=1.5, on=grad, steps=10)``."""
    rest = ', '.join(f'{k}={v}' for k, v in weight.items() if k != 'type')
    return f'{weight.get("type", "?")}({rest})'


def last_value(windows: Dict[str, float]) -> Optional[float]:
    """A curve's value in its last window (None for no curve)."""
    return windows[max(windows, key=int)] if windows else None


def in_training_table(methods: Sequence[str], records: Dict[str, dict]) -> str:
    """Weights set in training against the grid: for every tuning run of
    ``methods`` whose loss weights its config sets in training (a row of
    :data:`protocol.SET_IN_TRAINING`), each term's setting, the weight it
    set (its ``kd_weight`` curve's last window) and that as a multiple of
    the published weight, the term's gradient ratio to the task's over the
    windows from the one where the weight was set (``min .. max``: does
    the pull hold?), and its val mIoU beside the best of the grid so far of
    the row it is compared with, that row's published weights' and the
    student alone's (its best learning rate)."""
    runs = sorted(((n, r)
                   for n, r in records.items() if r.get('method') in methods
                   and r['stage'] == 'tune' and is_calibrated(r)),
                  key=lambda item: list(METHODS).index(item[1]['method']))
    if not runs:
        return 'No run with weights set in training yet.\n'
    alone = [
        records[r['name']]['val_mIoU'] for r in lr_runs()
        if r['name'] in records
    ]
    alone_cell = f'{max(alone):.2f}' if alone else 'n/a'
    lines = [
        '| run | term | weight | set to (x published) | gradient / task\'s '
        'once set | val mIoU | grid\'s best so far / published (val) | '
        'student alone (val, best lr) |', '|---|---|---|---|---|---|---|---|'
    ]
    for name, r in runs:
        method = published_row(r['method'])
        grid = weight_grid(method, records) or (1.0, )
        m, _ = grid_progress(method, grid, records)
        tuned = records.get(tune_name(method, m)) if m is not None else None
        published = records.get(tune_name(method, 1.0))
        grid_cell = ' / '.join(f'{x["val_mIoU"]:.2f}' if x else 'n/a'
                               for x in (tuned, published))
        if tuned:
            grid_cell += f' ({multiple_label(m)})'
        curves = r.get('train_curves', {})
        for term, weight in sorted(r['loss_weights'].items()):
            weights = curves.get(f'kd_weight/{term}', {})
            if isinstance(weight, dict):
                set_to = last_value(weights)
                label = weight_settings(weight)
            else:
                set_to, label = weight, f'{weight:g}'
            set_from = min(map(int, weights)) if weights else None
            held = [
                v for k, v in curves.get(f'kd_grad_ratio/{term}', {}).items()
                if set_from is not None and int(k) >= set_from
            ]
            held_cell = (f'{min(held):.3g} .. {max(held):.3g}'
                         if held else 'n/a')
            base = r.get('published_weights', {}).get(term)
            set_cell = 'not set' if set_to is None else (
                f'{set_to:.3g}' + (f' (x{set_to / base:.2g})' if base else ''))
            lines.append(f'| {name} | {term} | {label} | {set_cell} | '
                         f'{held_cell} | {r["val_mIoU"]:.2f} | {grid_cell} | '
                         f'{alone_cell} |')
    return '\n'.join(lines) + '\n'


def calibration_document(methods: Sequence[str], records: Dict[str,
                                                               dict]) -> str:
    """docs/benchmarks/camvid_calibration.md: :func:`calibration_table`
    (weights calibrated offline, from the tuning runs) and
    :func:`in_training_table` (weights set in training)."""
    return (calibration_table(methods, records) +
            '\nWeights set in training (`loss_weight=dict(type='
            '\'Calibrated\', ...)` in a row\'s config), its tuning run '
            'against the grid of the row it is compared with:\n\n' +
            in_training_table(methods, records))
