# Copyright (c) mmseg_kd contributors. All rights reserved.
from .distillation_optim_constructor import DistillationOptimWrapperConstructor

__all__ = ['DistillationOptimWrapperConstructor']
