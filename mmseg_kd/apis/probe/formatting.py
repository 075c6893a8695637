# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The probe's report and module lists as text tables, and errors as one
line."""
from typing import List, Optional, Sequence, Tuple

from .report import ModuleRow, ProbeReport, Shape


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)
              ] if rows else [len(h) for h in headers]
    lines = []
    for cells in [headers] + list(rows):
        lines.append('  '.join(str(c).ljust(w)
                               for c, w in zip(cells, widths)).rstrip())
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def _fmt_shape(shape: Optional[Shape]) -> str:
    return 'x'.join(str(s) for s in shape) if shape else '-'


def _fmt_stride(stride: Optional[Tuple[float, float]]) -> str:
    if stride is None:
        return '-'

    def one(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f'{x:.2f}'

    sh, sw = stride
    return one(sh) if sh == sw else f'{one(sh)}x{one(sw)}'


def _fmt_value(x: Optional[float]) -> str:
    if x is None:
        return '-'
    return f'{x:.4g}'


def format_report(report: ProbeReport, ratio: Optional[float] = None) -> str:
    """The report as text tables.

    Args:
        report (ProbeReport): What :func:`probe` found.
        ratio (float, optional): Also list, for every term, the weight that
            makes it ``ratio`` times the task loss on the probed batch.

    Returns:
        str: The text.
    """
    out = [
        f'Input: {_fmt_shape(report.input_shape)} ({report.source})',
        f'Teacher: {report.teacher}', '',
        'Recorded tensors (stride = input size / tensor size):'
    ]
    rows = []
    for row in report.tensors:
        first = True
        for side_name in ('teacher', 'student'):
            side = getattr(row, side_name)
            if side is None:
                continue
            rows.append([
                row.name if first else '', side_name, side.path,
                _fmt_shape(side.shape), side.dtype,
                _fmt_stride(side.stride), side.connector or '-',
                _fmt_shape(side.connected_shape)
            ])
            first = False
    out.append(
        _table([
            'name', 'side', 'module', 'shape', 'dtype', 'stride', 'connector',
            'connected'
        ], rows))
    task = ' + '.join(f'{k} {v:.4g}' for k, v in report.task_losses.items())
    out += [
        '', f'Loss terms at iteration {report.iteration} (student task loss '
        f'{report.task_total:.4g} = {task or "nothing"}):'
    ]
    out.append(
        _table([
            'term', 'type', 'student -> teacher', 'loss_weight', 'schedule',
            'unweighted', 'value', 'value / task'
        ], [[
            term.name, term.type, f'{term.student} -> {term.teacher}',
            f'{term.loss_weight:g}' +
            (' (calibrated)' if term.calibrated else ''),
            '-' if term.factor is None else f'x{term.factor:g}',
            _fmt_value(term.unweighted),
            _fmt_value(term.value),
            _fmt_value(term.ratio)
        ] for term in report.losses]))
    out.append('(value = loss_weight x schedule x unweighted, as logged in '
               'training)')
    if ratio is not None:
        weights = report.weights_for_ratio(ratio)
        out += [
            '', f'Weights that make each term {ratio:g} x the '
            "task loss on this batch (loss_weight=dict(type='Calibrated',"
            f' ratio={ratio:g})):',
            _table(['term', 'loss_weight'],
                   [[k, f'{v:.4g}'] for k, v in weights.items()])
        ]
    for note in report.notes:
        out.append(f'Note: {note}')
    return '\n'.join(out)


def format_modules(rows: List[ModuleRow], side: str, note: str) -> str:
    """The module listing as a text table."""
    return f'{side} modules ({note}):\n' + _table(
        ['path', 'class', 'output'], [[r.path, r.cls, r.output or '-']
                                      for r in rows])


def error_message(err: BaseException) -> str:
    """``Type: message`` without the quotes KeyError adds."""
    msg = err.args[0] if isinstance(err, KeyError) and len(
        err.args) == 1 and isinstance(err.args[0], str) else str(err)
    return f'{type(err).__name__}: {msg}'
