# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The benchmark's generated markdown: the results table (mean, std and
seeds per row, the gap to the student alone), the tuning table and the
diagnostics of every term (the calibrated weights against the tuned ones:
:mod:`.calibration_report`)."""
import statistics
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .grid import multiple_label, multiple_order
from .protocol import (BASELINES, FINAL_SEEDS, FIXED_BASELINES, METHODS,
                       STUDENT_OF, run_name)


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


def current_finals(records: Dict[str, dict],
                   superseded: Iterable[str]) -> Dict[str, List[dict]]:
    """The final runs of the settings the plan wants now.

    Args:
        records (dict): run name -> record.
        superseded (Iterable[str]): Final runs to leave out (:func:`table`).

    Returns:
        dict: method -> its final runs' records (:func:`finals_by_method`).
    """
    superseded = set(superseded)
    return finals_by_method(records,
                            [n for n in records if n not in superseded])


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
    current = current_finals(records, superseded)
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


def row_order() -> List[str]:
    """The methods in the tables' order.

    Returns:
        list[str]: The PSPNet student alone, its distillation rows, then
        each other student alone with its rows.
    """
    order = ['baseline'] + [m for m in METHODS if m not in STUDENT_OF]
    for name in FIXED_BASELINES:
        order += [name] + [m for m, s in STUDENT_OF.items() if s == name]
    return order


def class_gains(by_method: Dict[str, List[dict]]) -> str:
    """Where each row's gain over its student alone lies: per class, the
    test IoU averaged over the row's seeds minus its student alone's, with
    the val and test mIoU gains beside (rows whose student alone has
    final runs).

    Args:
        by_method (dict): method -> its final runs' records
            (:func:`finals_by_method`), each with ``test_per_class_IoU``.

    Returns:
        str: a markdown table, or '' while no distillation row has a
        student alone to compare with.
    """

    def mean_of(runs: List[dict],
                key: str,
                name: Optional[str] = None) -> float:
        return statistics.mean(r[key] if name is None else r[key][name]
                               for r in runs)

    students = [by_method[m] for m in BASELINES if by_method.get(m)]
    if not students:
        return ''
    classes = list(students[0][0]['test_per_class_IoU'])
    rows = []
    for method in row_order():
        student = by_method.get(STUDENT_OF.get(method, 'baseline'))
        runs = by_method.get(method)
        if method in BASELINES or not runs or not student:
            continue
        gains = [
            mean_of(runs, key) - mean_of(student, key)
            for key in ('val_mIoU', 'test_mIoU')
        ] + [
            mean_of(runs, 'test_per_class_IoU', c) -
            mean_of(student, 'test_per_class_IoU', c) for c in classes
        ]
        partial = (f' ({len(runs)} of {len(FINAL_SEEDS)} seeds)'
                   if len(runs) < len(FINAL_SEEDS) else '')
        rows.append(f'| {method}{partial} | ' +
                    ' | '.join(f'{g:+.1f}' for g in gains) + ' |')
    if not rows:
        return ''
    return '\n'.join([
        '| method | val mIoU | test mIoU | ' + ' | '.join(classes) +
        ' |', '|---' * (len(classes) + 3) + '|'
    ] + rows) + '\n'


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
    for method in row_order():
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


def quality_document(records: Dict[str, dict], superseded: Iterable[str],
                     done: int, planned: int) -> str:
    """docs/benchmarks/camvid_quality.md: :func:`table` (``superseded``: as
    there), :func:`class_gains` and :func:`tuning_table` under a heading
    that says how they were made and how far the plan is (``done`` of its
    ``planned`` runs so far)."""
    superseded = set(superseded)
    current = current_finals(records, superseded)
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
            table(records, superseded) +
            '\nGain over the student alone per class (test IoU, the mean '
            'over the row\'s seeds minus the student alone\'s), with the '
            'val and test mIoU gains:\n\n' + class_gains(current) +
            '\nTuning (val split):\n\n' + tuning_table(records))
