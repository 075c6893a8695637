# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The benchmark's generated markdown: the results table (mean, std and
seeds per row, the gap to the student alone), the tuning table, the
diagnostics of every term and the calibrated weights against the tuned
ones."""
import statistics
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .grid import (early_ratios, gradient_strength, grid_progress,
                   later_gradient_strength, multiple_label, multiple_order,
                   tune_name, tuned_multiple, weight_grid)
from .plan import lr_runs
from .protocol import (BASELINES, FINAL_SEEDS, FIXED_BASELINES, METHODS,
                       REFERENCE_METHOD, STUDENT_OF, published_row, run_name)


def summary(values: List[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
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


def is_calibrated(record: dict) -> bool:
    """Whether a run's loss weights were set in training (a weight given
    by its settings, a dict, rather than a number)."""
    return any(
        isinstance(w, dict) for w in record.get('loss_weights', {}).values())


def weights_label(record: dict) -> str:
    """A run's loss weights as the tables show them: its grid point
    (``x0.3``, per term ``kd x1, at x0.01``), or ``set in training``."""
    if is_calibrated(record):
        return 'set in training'
    return multiple_label(record['multiple'])


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
            weights = weights_label(runs[0])
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
        value = (f'lr {r["lr"]}'
                 if r['method'] == 'baseline' else weights_label(r))
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


def run_label(record: dict) -> str:
    """A run as the diagnostics table names it: ``tune x0.3``,
    ``tune set in training`` or ``final s1``."""
    if record['stage'] == 'final':
        return f'final s{record["seed"]}'
    return f'tune {weights_label(record)}'


def diagnostics_table(methods: Sequence[str], records: Dict[str, dict]) -> str:
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
        label = run_label(r)
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


def diagnostics_document(methods: Sequence[str], records: Dict[str,
                                                               dict]) -> str:
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
            grads = curves.get(f'kd_grad_ratio/{term}', {})
            held = [
                v for k, v in grads.items()
                if weights and int(k) >= min(map(int, weights))
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


def quality_document(records: Dict[str, dict], superseded: Iterable[str],
                     done: int, planned: int) -> str:
    """docs/benchmarks/camvid_quality.md: :func:`table` (``superseded``: as
    there) and :func:`tuning_table` under a heading that says how they were
    made and how far the plan is (``done`` of its ``planned`` runs so
    far)."""
    return ('# CamVid distillation quality (CPU protocol)\n\n'
            'Written by `python tools/benchmarks/camvid_quality.py '
            'table --out docs/benchmarks/camvid_quality.md` from the '
            'records in `docs/benchmarks/camvid/records/`; protocol '
            f'in `docs/benchmarks.md`. {done} of the {planned} runs '
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
