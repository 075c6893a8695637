# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Shared set-up of tools/train.py and tools/test.py."""
import os
import os.path as osp
import sys

# make `import mmseg_kd` work from a source checkout without installing it
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402


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


def local_rank_to_env(local_rank: int) -> None:
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)
