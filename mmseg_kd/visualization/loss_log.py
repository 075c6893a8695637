# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Loss curves from mmengine's logs (tools/plot_loss_terms.py): reading
``scalars.json`` and text logs, splitting resumed runs, plotting every term
with matplotlib's object API on the Agg canvas (no display, no pyplot
state).
"""
import json
import math
import os
import os.path as osp
import re
from collections import OrderedDict
from glob import glob
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# prefixes of the distillation diagnostics (the training monitor's)
from ..utils.log_keys import DIAGNOSTIC_PREFIXES as DIAGNOSTICS

# --------------------------------------------------------------------------
# loss curves from mmengine's logs (scalars.json, <timestamp>.log)
# --------------------------------------------------------------------------

TIMESTAMP_DIR = re.compile(r'^\d{8}_\d{6}$')
TRAIN_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)\s*/\s*\d+\]\s*(.*)$')
KEY_VALUE = re.compile(r'(\S+):\s+(\S+)')


def _run_log(run_dir: str) -> Optional[str]:
    """The log of one ``<timestamp>`` dir: its own ``vis_data/<timestamp>
    .json`` (mmengine's LoggerHook writes it next to ``scalars.json``; it
    holds this runner's scalars only, even when runners of one process
    share a visualizer and so its ``scalars.json``), else ``vis_data/
    scalars.json``, else the text log ``<timestamp>.log``."""
    name = osp.basename(osp.normpath(run_dir))
    for candidate in (osp.join(run_dir, 'vis_data', f'{name}.json'),
                      osp.join(run_dir, 'vis_data', 'scalars.json'),
                      osp.join(run_dir, f'{name}.log')):
        if osp.isfile(candidate):
            return candidate
    logs = sorted(glob(osp.join(run_dir, '*.log')))
    return logs[-1] if logs else None


def find_logs(path: str) -> List[str]:
    """The logs to read for ``path``: the file itself; the ``scalars.json``
    of a ``vis_data`` dir; the log of a ``<timestamp>`` dir (see
    :func:`_run_log`); for a work dir, the log of each of its
    ``<timestamp>`` dirs in time order (a resumed run continues in a new
    one)."""
    if osp.isfile(path):
        return [path]
    if osp.isfile(osp.join(path, 'scalars.json')):
        return [osp.join(path, 'scalars.json')]
    own = _run_log(path)
    if own:
        return [own]
    runs = sorted(
        d for d in glob(osp.join(path, '*'))
        if osp.isdir(d) and TIMESTAMP_DIR.match(osp.basename(d)))
    logs = [log for log in map(_run_log, runs) if log]
    if logs:
        return logs
    raise FileNotFoundError(
        f'No run log at {path}: give a work dir, a <work_dir>/<timestamp> '
        'dir, a scalars.json or a <timestamp>.log.')


def read_scalars(path: str) -> List[dict]:
    """The records of a ``scalars.json`` (one JSON object per line)."""
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{n}: not JSON ({e}).') from None
    return records


def read_text_log(path: str) -> List[dict]:
    """The training records of an mmengine text log (``<timestamp>.log``):
    one per ``Iter(train) [i/N]  key: value ...`` line, values as printed
    (4 significant decimals), non-numeric ones (eta) left out."""
    records = []
    with open(path, errors='replace') as f:
        for line in f:
            match = TRAIN_LINE.search(line)
            if not match:
                continue
            rec = {}
            for key, value in KEY_VALUE.findall(match.group(2)):
                try:
                    rec[key] = float(value)
                except ValueError:
                    pass
            rec['iter'] = int(match.group(1))
            records.append(rec)
    return records


def read_log(path: str) -> List[dict]:
    """Records of a ``scalars.json`` (or mmengine's ``<timestamp>.json``,
    same format) or of a text log (``.log``)."""
    if path.endswith('.log'):
        return read_text_log(path)
    return read_scalars(path)


def split_runs(records: Sequence[dict]) -> List[List[dict]]:
    """The training records cut where a new run starts: the iteration goes
    back to or below the first one logged by the current run. (A resumed
    run goes back only to its checkpoint's iteration and stays in the same
    run; several runs in one process that share mmengine's visualizer
    write into the first run's ``scalars.json``.) Records without an
    iteration (validation) are left out."""
    runs: List[List[dict]] = []
    first = last = None
    for rec in records:
        it = rec.get('iter', rec.get('step'))
        if it is None or not any('loss' in k for k in rec):
            continue
        if not runs or (it < last and it <= first):
            runs.append([])
            first = it
        runs[-1].append(rec)
        last = it
    return runs


def loss_kind(key: str) -> str:
    """'total' for ``loss``; 'task' for a head's own term (mmseg prefixes
    them with the head: ``decode.loss_ce``, ``aux.loss_ce``); 'distill' for
    the other loss terms (the distillation losses, logged under their
    config names, and discriminator terms)."""
    if key == 'loss':
        return 'total'
    if '.' in key:
        return 'task'
    return 'distill'


def is_diagnostic(key: str) -> bool:
    return key.startswith(DIAGNOSTICS)


def loss_series(records: Sequence[dict]) -> 'OrderedDict[str, Tuple]':
    """Every loss key (containing 'loss', not a diagnostic) to
    (iterations, values), in order of first appearance. The iteration is
    ``iter`` (else ``step``); where a resumed run logged an iteration twice,
    the later value wins. Give the records of one run
    (:func:`split_runs`)."""
    return _series(records, lambda k: 'loss' in k and not is_diagnostic(k))


def diagnostic_series(records: Sequence[dict]) -> 'OrderedDict[str, Tuple]':
    """The distillation diagnostics (``kd_ratio/<term>``,
    ``kd_agreement/<term>``, ``kd_cosine/<term>``, ``kd_grad_ratio/<term>``,
    ``kd_weight/<term>``, ``kd_factor/<term>``) as :func:`loss_series` gives
    the losses."""
    return _series(records, is_diagnostic)


def _series(records, wanted) -> 'OrderedDict[str, Tuple]':
    per_key: Dict[str, Dict[int, float]] = OrderedDict()
    for rec in records:
        it = rec.get('iter', rec.get('step'))
        if it is None:
            continue
        for key, value in rec.items():
            if not wanted(key) or not isinstance(value, (int, float)):
                continue
            per_key.setdefault(key, {})[int(it)] = float(value)
    out = OrderedDict()
    for key, points in per_key.items():
        its = np.array(sorted(points), dtype=np.int64)
        out[key] = (its, np.array([points[i] for i in its], dtype=float))
    return out


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (shorter at the
    start); NaN/Inf points are left out of the averages."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or values.size == 0:
        return values
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    csum = np.concatenate([[0.0], np.cumsum(filled)])
    ccnt = np.concatenate([[0], np.cumsum(finite)])
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(idx - window, 0)
    count = ccnt[idx] - ccnt[lo]
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(count > 0, (csum[idx] - csum[lo]) / count, np.nan)


def plot_loss_terms(series: 'OrderedDict[str, Tuple]',
                    out_file: Optional[str] = None,
                    window: int = 1,
                    log_scale: bool = False,
                    title: Optional[str] = None,
                    figsize=(8, 4.5),
                    dpi: int = 100):
    """One curve per loss term over iterations: the total in black, task
    terms solid, distillation terms dashed; with ``window`` > 1 the raw
    values are drawn faintly behind the moving average. Saved to
    ``out_file`` when given; returns the matplotlib Figure (its axes'
    lines labelled by loss key)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not series:
        raise ValueError('No loss terms to plot.')
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    styles = dict(total='-', task='-', distill='--')
    colors = {}
    palette = iter([
        'tab:blue', 'tab:orange', 'tab:green', 'tab:red', 'tab:purple',
        'tab:brown', 'tab:pink', 'tab:olive', 'tab:cyan', 'tab:gray'
    ] * 10)
    for key in series:
        colors[key] = 'black' if loss_kind(key) == 'total' else next(palette)
    order = sorted(
        series, key=lambda k: ('total', 'task', 'distill').index(loss_kind(k)))
    for key in order:
        its, values = series[key]
        kind = loss_kind(key)
        if log_scale:
            values = np.where(values > 0, values, np.nan)
        label = f'{key} ({kind})' if kind != 'total' else f'{key} (total)'
        if window > 1:
            ax.plot(
                its,
                values,
                color=colors[key],
                alpha=0.2,
                linewidth=0.8,
                linestyle=styles[kind])
            values = smooth(values, window)
        ax.plot(
            its,
            values,
            color=colors[key],
            linestyle=styles[kind],
            linewidth=2.0 if kind == 'total' else 1.5,
            label=label)
    if log_scale:
        ax.set_yscale('log')
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss' + (' (log scale)' if log_scale else ''))
    if window > 1:
        ax.set_title(
            (title + '\n' if title else '') +
            f'moving average over {window} logged points; '
            'solid: task terms, dashed: distillation terms',
            fontsize=9)
    else:
        ax.set_title(
            (title + '\n' if title else '') +
            'solid: task terms, dashed: distillation terms',
            fontsize=9)
    ax.grid(True, alpha=0.3, which='both')
    ax.legend(
        fontsize=8,
        loc='upper left',
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0)
    fig.tight_layout()
    if out_file:
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        fig.savefig(out_file)
    return fig


_DIAGNOSTIC_TITLES = {
    'kd_ratio/': 'term / task loss',
    'kd_agreement/': 'student-teacher argmax agreement (%)',
    'kd_cosine/': 'cos(grad task, grad term) on the student',
    'kd_grad_ratio/': '|grad term| / |grad task| on the student',
    'kd_weight/': 'calibrated weight',
    'kd_factor/': 'weight factor (schedule, batch rescaling)',
}


def plot_diagnostics(series: 'OrderedDict[str, Tuple]',
                     out_file: Optional[str] = None,
                     window: int = 1,
                     width: float = 8,
                     dpi: int = 100):
    """One panel per kind of distillation diagnostic present (see
    :data:`DIAGNOSTICS`), one curve per term; saved to ``out_file`` when
    given; returns the Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    kinds = [p for p in DIAGNOSTICS if any(k.startswith(p) for k in series)]
    if not kinds:
        raise ValueError('No distillation diagnostics to plot.')
    fig = Figure(figsize=(width, 2.6 * len(kinds)), dpi=dpi)
    FigureCanvasAgg(fig)
    for row, prefix in enumerate(kinds):
        ax = fig.add_subplot(len(kinds), 1, row + 1)
        for key, (its, values) in series.items():
            if key.startswith(prefix):
                if window > 1:
                    ax.plot(its, values, alpha=0.2, linewidth=0.8)
                    values = smooth(values, window)
                ax.plot(its, values, linewidth=1.5, label=key[len(prefix):])
        if prefix == 'kd_cosine/':
            ax.axhline(0.0, color='black', linewidth=0.8)
        ax.set_title(_DIAGNOSTIC_TITLES[prefix], fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(
            fontsize=7,
            loc='upper left',
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0)
    fig.axes[-1].set_xlabel('iteration')
    fig.tight_layout()
    if out_file:
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        fig.savefig(out_file)
    return fig


def series_to_csv(series: 'OrderedDict[str, Tuple]', out_file: str) -> str:
    """The loss terms as CSV: an ``iter`` column, then one column per key
    (empty where a key was not logged at that iteration)."""
    import csv
    its = sorted({int(i) for x, _ in series.values() for i in x})
    table = {
        k: dict(zip(x.tolist(), v.tolist()))
        for k, (x, v) in series.items()
    }
    with open(out_file, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['iter'] + list(series))
        for it in its:
            row = [it]
            for key in series:
                v = table[key].get(it)
                row.append('' if v is
                           None else repr(v) if math.isfinite(v) else str(v))
            writer.writerow(row)
    return out_file
