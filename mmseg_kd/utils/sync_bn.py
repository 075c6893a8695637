# Copyright (c) mmseg_kd contributors. All rights reserved.
import torch
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from torch import nn


def revert_sync_bn_without_cuda(model: nn.Module,
                                role: str = 'model') -> nn.Module:
    """SyncBN cannot run without CUDA: on CPU-only machines (tests, CPU DDP)
    turn it into plain BN, as mmengine does for single-process runs. A no-op
    when CUDA is available or the model has no SyncBN.

    Args:
        model (nn.Module): The model.
        role (str): Its name in the log message.

    Returns:
        nn.Module: The model, SyncBN layers replaced when needed.
    """
    if torch.cuda.is_available() or not any(
            isinstance(m, nn.SyncBatchNorm) for m in model.modules()):
        return model
    print_log(
        f'[mmseg_kd] No CUDA: the {role}\'s SyncBN layers run as BN.',
        logger='current')
    return revert_sync_batchnorm(model)
