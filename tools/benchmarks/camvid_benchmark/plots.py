# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The benchmark's figures: validation mIoU over training, and test mIoU
per row with its seeds and its student alone."""
from typing import TYPE_CHECKING, Dict, List, Tuple

from .protocol import BASELINES, FINAL_SEEDS, METHODS, student_of
from .reports import summary

if TYPE_CHECKING:  # matplotlib is imported only to draw
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> 'Figure':
    """A matplotlib figure of ``width`` x ``height`` inches drawn off
    screen (Agg), whatever the backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _curve(record: dict) -> Tuple[List[int], List[float]]:
    """A record's validation curve as (iterations, mIoU), in order."""
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
