# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Shared set-up of the command-line tools (train, test, export, probe)."""
import argparse
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction


def setup_cpu_distributed(cfg, launcher: str) -> None:
    """Make a torchrun launch work on machines without CUDA.

    mmengine's launcher calls ``torch.cuda.set_device`` and its DDP wrapper
    passes CUDA ``device_ids``; with no GPU we initialise a gloo process group
    ourselves and wrap without device ids. Nothing changes when CUDA exists.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def add_trust_argument(parser) -> None:
    """``--trust-checkpoint PATH`` (see mmseg_kd/utils/checkpoint.py)."""
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='PATH',
        help='a checkpoint you made yourself that needs more than a '
        'weights-only load; it may then call exactly the globals it names '
        '(repeatable; see docs/training_at_scale.md)')


def add_cfg_options_argument(parser) -> None:
    """``--cfg-options key=value ...`` (mmengine's ``DictAction``)."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (xxx=yyy format)')


def load_launch_config(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the launcher, the
    ``--cfg-options`` overrides and the work dir (``--work-dir``, else the
    config's, else ``work_dirs/<config name>``) applied."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def parse_launch_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the options train and test share (``--cfg-options``,
    ``--launcher``, ``--trust-checkpoint``, ``--local-rank``), parse, and
    put the local rank where torch.distributed reads it."""
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    add_trust_argument(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args
