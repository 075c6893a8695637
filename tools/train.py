# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Train a model (distillation or plain mmseg) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--cfg-options k=v ...]
    tools/dist_train.sh CONFIG NGPUS [same options]

Besides mmseg's own train script, this one imports mmseg_kd, runs DDP on
CPU-only machines (gloo) and, for distillation configs, adds the
ExportStudentHook when the config does not list it, so that
WORK_DIR/student_final.pth and WORK_DIR/student_config.py are written at the
end of training.
"""
import argparse
import logging
import os.path as osp

from _launch import local_rank_to_env, setup_cpu_distributed

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_kd  # noqa: F401  (registers everything)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a value from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (xxx=yyy format)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    local_rank_to_env(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper
        if optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log('AMP is already enabled in the config.',
                      logger='current', level=logging.WARNING)
        elif 'optimizer' in optim_wrapper:
            optim_wrapper.type = 'AmpOptimWrapper'
            optim_wrapper.loss_scale = 'dynamic'
        else:  # one wrapper per part (student, discriminator, ...)
            for part in optim_wrapper.values():
                if isinstance(part, dict) and 'optimizer' in part:
                    part.type = 'AmpOptimWrapper'
                    part.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if cfg.model.get('type') == 'DistillationSegmentor':
        hooks = cfg.get('custom_hooks', None) or []
        if not any(h.get('type') == 'ExportStudentHook' for h in hooks):
            hooks.append(dict(type='ExportStudentHook'))
            cfg.custom_hooks = hooks

    setup_cpu_distributed(cfg, args.launcher)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
