# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Check a distillation config before training it.

    python tools/probe.py CONFIG [--cfg-options k=v ...]
                          [--data | --input-size H W] [--iter N]
                          [--device DEVICE] [--debug]
    python tools/probe.py CONFIG --list-modules {student,teacher}

Builds the distillation model as training does (teacher checkpoint
included), runs one batch through the training path without gradient and
prints every recorded tensor (module, shape, dtype, stride, connector and
shape after it) and every loss term's initial value next to the student's
task loss. The batch is the first of the config's train_dataloader; without
--data a random batch is used when the dataloader cannot be built, and with
--input-size always (at that size).

--list-modules prints the module paths of the student or the teacher with
their classes and output shapes, to choose tensors from.

Exits with status 1 and the error training would give (wrong module path
with the closest names, shape mismatch with both shapes, missing
checkpoint, ...); --debug shows the traceback.
"""
import argparse
import sys
import warnings

if __name__ == '__main__' and '--debug' not in sys.argv:
    # keep the report readable (deprecation notices of the libraries)
    warnings.filterwarnings('ignore', category=UserWarning)
    warnings.filterwarnings('ignore', category=DeprecationWarning)

import torch
from _launch import add_cfg_options_argument

import mmseg_kd  # noqa: F401  (registers everything)
from mmseg_kd.apis import probe


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Probe a distillation config: tensors, shapes, '
        'connectors and initial loss values.')
    parser.add_argument('config', help='distillation config file')
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--list-modules',
        metavar='SIDE',
        help="print the module paths of a network and exit: 'student', "
        "'teacher', or with teachers= a teacher's name")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        '--data',
        action='store_true',
        help='use the first batch of train_dataloader; fail if it cannot '
        'be built (default: fall back to a random batch)')
    source.add_argument(
        '--input-size',
        nargs=2,
        type=int,
        metavar=('H', 'W'),
        help='use a random batch of this size instead of the dataloader '
        '(with --list-modules: the image size of the forward)')
    parser.add_argument(
        '--iter',
        type=int,
        default=0,
        help='iteration the loss weight schedules are evaluated at '
        '(default 0)')
    parser.add_argument(
        '--ratio',
        type=float,
        help="also print each term's loss_weight that would make it RATIO x "
        "the task loss on the probed batch (what loss_weight=dict("
        "type='Calibrated', ratio=RATIO) sets)")
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device to run on (default: cuda when available)')
    parser.add_argument(
        '--debug', action='store_true', help='show tracebacks of errors')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = probe.load_config(args.config, args.cfg_options)
        if args.list_modules:
            rows, note = probe.list_modules(cfg, args.list_modules,
                                            args.input_size)
            print(probe.format_modules(rows, args.list_modules, note))
            return 0
        data = 'data' if args.data else (
            'random' if args.input_size else 'auto')
        report = probe.run_probe(cfg, data, args.input_size, args.iter,
                                 args.device)
        print(probe.format_report(report, args.ratio))
    except Exception as err:  # noqa: BLE001 - shown cleanly, see --debug
        if args.debug:
            raise
        print(f'\nprobe: error: {probe.error_message(err)}', file=sys.stderr)
        print('(run with --debug for the traceback)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
