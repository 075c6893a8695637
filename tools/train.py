# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Train a model (distillation or plain mmseg) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--cfg-options k=v ...]
    tools/dist_train.sh CONFIG NGPUS [same options]

Besides mmseg's own train script, this one imports mmseg_kd, runs DDP on
CPU-only machines (gloo), loads checkpoints safely (weights only; see
mmseg_kd/utils/checkpoint.py), writes checkpoints atomically with every
rank's random state (ResumableCheckpointHook in place of CheckpointHook) and,
for distillation configs, adds the ExportStudentHook when the config does
not list it, so that WORK_DIR/student_final.pth and
WORK_DIR/student_config.py are written at the end of training.
"""
import argparse
import logging

import torch
from _launch import (load_launch_config, parse_launch_args,
                     setup_cpu_distributed)
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_kd  # noqa: F401  (registers everything)
from mmseg_kd.utils import safe_checkpoint_loading, trust_checkpoints


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
    return parse_launch_args(parser)


def main():
    args = parse_args()
    cfg = load_launch_config(args)

    if args.amp and not torch.cuda.is_available():
        raise SystemExit(
            '--amp needs a GPU: mmengine\'s AmpOptimWrapper scales losses '
            "with CUDA's GradScaler. On a CPU, train in float32 (a teacher "
            "can still run in bfloat16: teacher=dict(..., precision='bf16')).")
    if args.amp:
        optim_wrapper = cfg.optim_wrapper
        if optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print_log(
                'AMP is already enabled in the config.',
                logger='current',
                level=logging.WARNING)
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

    # atomic checkpoints that also hold every rank's random state
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint and checkpoint.get('type') in ('CheckpointHook',
                                                 'mmengine.CheckpointHook'):
        checkpoint['type'] = 'ResumableCheckpointHook'
    hooks = list(cfg.get('custom_hooks', None) or [])
    wanted = ['BatchSizeCheckHook', 'LogFirstIterationHook']
    if cfg.model.get('type') == 'DistillationSegmentor':
        wanted.append('ExportStudentHook')
    for name in wanted:
        if not any(h.get('type') == name for h in hooks):
            hooks.append(dict(type=name))
    cfg.custom_hooks = hooks

    trust_checkpoints(args.trust_checkpoint)
    setup_cpu_distributed(cfg, args.launcher)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    with safe_checkpoint_loading('resume' if cfg.resume else 'load_from'):
        runner.train()


if __name__ == '__main__':
    main()
