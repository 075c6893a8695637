# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Plot every loss term of a training run over iterations.

    python tools/plot_loss_terms.py RUN [--out loss_terms.png] [--smooth N]
                                    [--log] [--csv terms.csv] [--title T]
                                    [--run K]

RUN is a work dir, one of its ``<timestamp>`` dirs, or a log file. mmengine
writes ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (one JSON object per
logged step; the runner's own copy is ``vis_data/<timestamp>.json``) and
the text log ``WORK_DIR/<timestamp>/<timestamp>.log``; the JSON is read
when there is one, else the text log (values as printed). For a work dir,
every ``<timestamp>`` dir is read in time order, so that a resumed run is
drawn whole; where iterations start again from the beginning a new run
begins, and the last one is drawn (--run K picks another, 0 the first).

One curve per key containing 'loss': the total (``loss``) in black, the
heads' task terms (``decode.*``, ``aux.*``) solid, the distillation terms
(logged under their config names, e.g. ``loss_cwd``) dashed. The
distillation diagnostics (``kd_ratio/``, ``kd_agreement/``, ``kd_cosine/``,
``kd_grad_ratio/``, ``kd_weight/``, ``kd_factor/``) go to a second picture,
``<out>_diagnostics.png``, one panel per kind. --smooth N
draws a trailing moving average over N logged points over the faint raw
values; --log uses a log scale; --csv also writes the terms as a table
(iter, one column per key). Default output: loss_terms.png next to the
(last) log read.
"""
import argparse
import os.path as osp
from collections import OrderedDict

import matplotlib

matplotlib.use('Agg')

from mmseg_kd import visualization as vis  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot the loss terms of a training run.')
    parser.add_argument(
        'run',
        help='a work dir, a <work_dir>/<timestamp> dir, a '
        'scalars.json or a <timestamp>.log')
    parser.add_argument(
        '--out',
        help='PNG to write (default: loss_terms.png next to the '
        'log read)')
    parser.add_argument(
        '--smooth',
        type=int,
        default=1,
        metavar='N',
        help='moving average over N logged points')
    parser.add_argument('--log', action='store_true', help='log-scale y axis')
    parser.add_argument('--csv', help='also write the terms to this CSV')
    parser.add_argument('--title', help='plot title')
    parser.add_argument(
        '--run',
        dest='run_index',
        type=int,
        default=-1,
        metavar='K',
        help='which run, where the logs hold several (default: the last)')
    parser.add_argument(
        '--size',
        type=float,
        nargs=2,
        default=(8, 4.5),
        metavar=('W', 'H'),
        help='figure size in inches (at 100 dpi)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logs = vis.find_logs(args.run)
    records = [rec for log in logs for rec in vis.read_log(log)]
    runs = vis.split_runs(records)
    if not runs:
        raise SystemExit(f'No loss terms in {", ".join(logs)}.')
    for log in logs:
        print(f'read {log}')
    try:
        run = runs[args.run_index]
    except IndexError:
        raise SystemExit(f'--run {args.run_index}: the logs hold '
                         f'{len(runs)} runs.') from None
    if len(runs) > 1:
        spans = ', '.join(f'{r[0].get("iter", r[0].get("step"))}-'
                          f'{r[-1].get("iter", r[-1].get("step"))}'
                          for r in runs)
        print(f'note: the logs hold {len(runs)} runs (iterations {spans}); '
              f'plotting run {args.run_index % len(runs)} (--run K to '
              'choose).')
    series = vis.loss_series(run)
    out = args.out or osp.join(osp.dirname(logs[-1]), 'loss_terms.png')
    vis.plot_loss_terms(
        series,
        out,
        window=args.smooth,
        log_scale=args.log,
        title=args.title,
        figsize=tuple(args.size))
    print(f'{len(series)} loss terms:')
    for key, (its, values) in series.items():
        print(f'  {key:28s} {vis.loss_kind(key):8s} {len(its):5d} points, '
              f'iter {its[0]}-{its[-1]}, last {values[-1]:.4g}')
    diagnostics = vis.diagnostic_series(run)
    if diagnostics:
        diag_out = osp.splitext(out)[0] + '_diagnostics.png'
        vis.plot_diagnostics(
            diagnostics, diag_out, window=args.smooth, width=args.size[0])
        print(f'{len(diagnostics)} distillation diagnostics (kd_ratio/, '
              f'kd_agreement/, ...) plotted to {diag_out}')
    if args.csv:
        vis.series_to_csv(OrderedDict(series, **diagnostics), args.csv)
        print(f'CSV written to {args.csv}')
    print(f'plot written to {out}')
    return out


if __name__ == '__main__':
    main()
