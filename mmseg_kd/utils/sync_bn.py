# Copyright (c) mmseg_kd contributors. All rights reserved.
import torch
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from torch import nn


def revert_unusable_sync_bn(model: nn.Module,
                            role: str = 'model') -> nn.Module:
    """Turn SyncBN into plain BN where it cannot synchronise: without CUDA
    (tests, CPU DDP) and in a single process without a process group.

    mmengine's runner reverts SyncBN itself in a non-distributed run, but
    only after the model is built, by replacing the layers; the recorders'
    forward hooks on the old layers would then be lost, so the distillation
    models revert it when they build their networks, before any hook is
    attached. A no-op when the model has no SyncBN, or under CUDA with a
    process group.

    Args:
        model (nn.Module): The model.
        role (str): Its name in the log message.

    Returns:
        nn.Module: The model, SyncBN layers replaced when needed.
    """
    if not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules()):
        return model
    if not torch.cuda.is_available():
        reason = 'No CUDA'
    elif not is_distributed():
        reason = 'Not distributed'
    else:
        return model
    print_log(
        f'[mmseg_kd] {reason}: the {role}\'s SyncBN layers run as BN.',
        logger='current')
    return revert_sync_batchnorm(model)
