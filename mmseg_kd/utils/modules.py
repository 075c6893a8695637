# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Small helpers on modules."""
import contextlib
from typing import Iterator, Optional

from mmengine.model import is_model_wrapper
from mmengine.registry import DefaultScope
from torch import nn


def unwrap(module: nn.Module) -> nn.Module:
    """``module`` without its DDP (or other mmengine model) wrapper."""
    return module.module if is_model_wrapper(module) else module


@contextlib.contextmanager
def frozen(module: Optional[nn.Module]) -> Iterator[None]:
    """``requires_grad=False`` on every parameter of ``module`` inside the
    block (nothing computed there reaches them), restored afterwards."""
    params = [] if module is None else list(module.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


@contextlib.contextmanager
def mmseg_scope() -> Iterator[None]:
    """mmseg's registry scope inside the block, unless a scope is already
    set (as in a runner): how mmseg's own tools build models."""
    if DefaultScope.get_current_instance() is not None:
        yield
        return
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield
