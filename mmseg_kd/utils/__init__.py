# Copyright (c) mmseg_kd contributors. All rights reserved.
from .checkpoint import load_local_checkpoint, register_checkpoint_loader
from .sync_bn import revert_sync_bn_without_cuda

__all__ = [
    'load_local_checkpoint', 'register_checkpoint_loader',
    'revert_sync_bn_without_cuda'
]
