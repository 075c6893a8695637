# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Distillation quality on real data: CamVid, every method, several seeds.

    python tools/benchmarks/camvid_quality.py plan
    python tools/benchmarks/camvid_quality.py run [--stage S] [--jobs 2]
        [--methods kd ...] [--max-runs N] [--stop-by HH:MM [--carry-over]]
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
validation every ``FINAL_VAL_INTERVAL`` iterations; a tuning run is its
config file at the tuning schedule (``TUNE_ITERS``, half the final one)
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
  an equal share of that strength (``wterms``;
  ``camvid_benchmark.grid.weight_grid``); and the student alone trained
  twice as long as the final runs (``check``), as evidence that the final
  schedule has converged.
* ``final``: the student alone at the chosen learning rate and every method
  at its chosen weights, seeds 0, 1, 2, evaluated on val and on **test**.

Every finished run writes one JSON record into
``docs/benchmarks/camvid/records/`` (``--records``): method, seed, stage,
val_mIoU (and test_mIoU for final runs), per-class IoU, the settings it was
made with (config, options, a hash of the resolved config, the teacher's
checkpoint hash), train time, code version, and what the run logged over
time (``val_curve``; ``train_curves``: every loss term and distillation
diagnostic, e.g. ``kd_cosine/<term>``, averaged per 1000 iterations;
``camvid_benchmark.records.curves_of``). ``plot`` draws the validation
curves and, once rows are complete, their test mIoU (mean +- std and
seeds). A run whose record exists with the same settings is skipped, so
the benchmark continues across sessions and machines; ``--jobs 2`` trains
two runs side by side, one thread each.

The work is done by the ``camvid_benchmark`` package beside this script
(one job per module: protocol, grid, records, plan, execution, scheduler,
reports, calibration_report, plots).
"""
import argparse
import os
import os.path as osp
import time

from camvid_benchmark.calibration_report import calibration_document
from camvid_benchmark.execution import resumable_iteration
from camvid_benchmark.plan import current_records
from camvid_benchmark.plots import plot_results, plot_val_curves
from camvid_benchmark.protocol import METHODS, RECORDS, REPO, STAGES
from camvid_benchmark.records import is_done, load_records
from camvid_benchmark.reports import diagnostics_document, quality_document
from camvid_benchmark.scheduler import (parse_deadline, planned_iterations,
                                        run_all, work_left)


def resume_note(run: dict, work_root: str, record) -> str:
    """Where a run not done would resume in ``work_root`` (a run carried
    over, or interrupted), as a note for ``plan``; '' from scratch."""
    done = resumable_iteration(run, osp.join(work_root, run['name']), record)
    if not done:
        return ''
    return f'  (resumes at iteration {done} of {planned_iterations(run)})'


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
        'and a run whose own ETA passes it is stopped (see --carry-over)')
    parser.add_argument(
        '--carry-over',
        action='store_true',
        help='run, with --stop-by: once no run that can finish by then is '
        'left, start the next that cannot, train it until its last '
        'checkpoint before --stop-by, and stop it there; the next run '
        'resumes it (for runs longer than a session)')
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
    if args.carry_over and args.stop_by is None:
        parser.error('--carry-over needs --stop-by: it trains a run that '
                     'cannot finish until its last checkpoint before then')
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
            print(f'{state:5s} {run["name"]}' +
                  ('' if state == 'done' else resume_note(
                      run, args.work_dir, records.get(run['name']))))
        todo = [run for run in plan if not is_done(run, current)]
        seconds, unknown = work_left(todo, current, args.work_dir,
                                     args.records)
        print(f'{len(todo)} of the {len(plan)} runs planned so far to do: '
              f'~{seconds / 3600:.1f} core-hours at the pace of the records '
              f'(from the checkpoints in {args.work_dir}); '
              f'{unknown} without an estimate yet. A grid adds its next '
              'points and a row its finals as the records land.')
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
            calibration_document
            if args.command == 'calibration' else diagnostics_document)
        text = document(args.methods, records)
        print(text)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text)
        return
    if args.command == 'table':
        done = sum(is_done(run, current) for run in plan)
        text = quality_document(records, superseded, done, len(plan))
        print(text)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text)
        return
    run_all(STAGES if args.stage == 'all' else (args.stage, ), args, records)


if __name__ == '__main__':
    main()
