# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Evaluate a checkpoint with a config (mmseg's metrics and test loop).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                         [--show-dir DIR] [--cfg-options k=v ...]
    tools/dist_test.sh CONFIG CHECKPOINT NGPUS [same options]

CONFIG may be a distillation config (the student is evaluated, the teacher
is not run) or a plain mmseg config, e.g. the student_config.py written by
the export next to student_final.pth.
"""
import argparse

from _launch import (load_launch_config, parse_launch_args,
                     setup_cpu_distributed)
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_kd  # noqa: F401  (registers everything)
from mmseg_kd.apis.probe import teacher_entries
from mmseg_kd.utils import (mismatch_report, read_state_dict,
                            safe_checkpoint_loading, trust_checkpoints)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='dir for the evaluation results')
    parser.add_argument(
        '--out', type=str, help='dir to save the predicted label maps')
    parser.add_argument('--show-dir', help='dir to save painted predictions')
    return parse_launch_args(parser)


def check_checkpoint_matches(cfg, checkpoint: str, model) -> None:
    """mmengine loads test checkpoints non-strictly: a checkpoint of another
    model would be evaluated with random weights after a warning. Refuse
    anything that does not fit the model exactly."""
    if '://' in checkpoint:
        return
    # only the keys and shapes are read: the tensors stay mapped
    state = read_state_dict(checkpoint, 'test', mmap=True)
    distilled = any(k.startswith('student.') for k in state)
    distill_cfg = cfg.model.get('type') == 'DistillationSegmentor'
    if distill_cfg and not distilled:
        raise SystemExit(
            f'{checkpoint} holds a student alone (an exported checkpoint), '
            'but the config is a distillation config. Evaluate it with its '
            'student config, e.g. WORK_DIR/student_config.py next to '
            'student_final.pth.')
    if distilled and not distill_cfg:
        raise SystemExit(
            f'{checkpoint} is a distillation checkpoint (student.*, '
            'teacher.* keys) but the config is a plain model. Evaluate it '
            'with the distillation config, or export the student first: '
            'python tools/export_student.py CKPT student.pth --config CFG')
    report = mismatch_report(state, model.state_dict(),
                             f'The test checkpoint {checkpoint!r}', 'test')
    if report:
        raise SystemExit(report)


def main():
    args = parse_args()
    cfg = load_launch_config(args)
    cfg.load_from = args.checkpoint
    trust_checkpoints(args.trust_checkpoint)
    if cfg.model.get('type') == 'DistillationSegmentor':
        # the tested checkpoint holds the teachers' weights, and testing
        # never runs a teacher: their own checkpoint files are not needed
        for entry in teacher_entries(cfg).values():
            entry.checkpoint = None

    if args.show_dir:
        vis = cfg.default_hooks.setdefault('visualization',
                                           dict(type='SegVisualizationHook'))
        vis['draw'] = True
        vis['interval'] = 1
        cfg.visualizer['save_dir'] = args.show_dir
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    setup_cpu_distributed(cfg, args.launcher)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    check_checkpoint_matches(cfg, args.checkpoint, model)
    with safe_checkpoint_loading('test'):
        runner.test()


if __name__ == '__main__':
    main()
