# Copyright (c) mmseg_kd contributors. All rights reserved.
from .checkpoint import load_local_checkpoint, register_checkpoint_loader

__all__ = ['load_local_checkpoint', 'register_checkpoint_loader']
