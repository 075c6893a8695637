# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy
from typing import Optional, Union

from mmengine.optim import (DefaultOptimWrapperConstructor, OptimWrapper,
                            OptimWrapperDict)
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from ...segmentors import DistillationSegmentor
from ...utils import unwrap

# which optim-wrapper entry owns which parts of a DistillationSegmentor
_GROUPS = {
    'student': ('student', 'distiller'),
    'discriminator': ('discriminator', ),
}


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DistillationOptimWrapperConstructor:
    """Optimizers of a :class:`DistillationSegmentor`; the teacher never gets
    one.

    One optimizer (student, connectors and other trainable distillation
    parts)::

        optim_wrapper = dict(
            constructor='DistillationOptimWrapperConstructor',
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                           weight_decay=5e-4))

    Several (e.g. a discriminator with its own optimizer)::

        optim_wrapper = dict(
            constructor='DistillationOptimWrapperConstructor',
            student=dict(type='OptimWrapper', optimizer=dict(type='SGD', ...)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=4e-4,
                                              betas=(0.9, 0.99))))

    Each entry is built by mmengine's ``DefaultOptimWrapperConstructor``
    (``paramwise_cfg`` and all), over a module whose children are named
    ``student`` and ``distiller`` (or ``discriminator``), so custom keys
    such as ``'decode_head'`` or ``'student.backbone'`` match as expected.

    Args:
        optim_wrapper_cfg (dict): As above.
        paramwise_cfg (dict, optional): For the one-optimizer form.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.paramwise_cfg = paramwise_cfg
        self.single = 'optimizer' in self.optim_wrapper_cfg
        if not self.single:
            unknown = set(self.optim_wrapper_cfg) - set(_GROUPS)
            if unknown:
                raise KeyError(
                    f'optim_wrapper entries {sorted(unknown)} are unknown; '
                    f'use {sorted(_GROUPS)} (or give `optimizer` for one '
                    'optimizer).')
            if 'student' not in self.optim_wrapper_cfg:
                raise KeyError("optim_wrapper needs a 'student' entry.")
        elif paramwise_cfg is None:
            self.paramwise_cfg = self.optim_wrapper_cfg.pop(
                'paramwise_cfg', None)

    @staticmethod
    def _container(model: nn.Module, names) -> nn.Module:
        container = nn.Module()
        for name in names:
            part = getattr(model, name)  # a DistillationSegmentor part
            if part is not None and any(True for _ in part.parameters()):
                container.add_module(name, unwrap(part))
        return container

    def __call__(self,
                 model: nn.Module) -> Union[OptimWrapper, OptimWrapperDict]:
        model = unwrap(model)
        if not isinstance(model, DistillationSegmentor):
            raise TypeError(
                'DistillationOptimWrapperConstructor builds optimizers for a '
                f'DistillationSegmentor, not a {type(model).__name__}; drop '
                '`constructor` from optim_wrapper for a plain model.')
        if self.single:
            if model.discriminator is not None:
                raise KeyError(
                    'This model has a discriminator, which needs its own '
                    "optimizer: give optim_wrapper 'student' and "
                    "'discriminator' entries.")
            return DefaultOptimWrapperConstructor(
                self.optim_wrapper_cfg, self.paramwise_cfg)(
                    self._container(model, _GROUPS['student']))
        wrappers = {}
        for key, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(dict(cfg))
            paramwise = cfg.pop('paramwise_cfg', None)
            container = self._container(model, _GROUPS[key])
            if not any(True for _ in container.parameters()):
                raise KeyError(f"optim_wrapper has a {key!r} entry, but the "
                               f'model has no trainable {key}.')
            wrappers[key] = DefaultOptimWrapperConstructor(cfg, paramwise)(
                container)
        if model.discriminator is not None and \
                'discriminator' not in wrappers:
            raise KeyError("optim_wrapper needs a 'discriminator' entry for "
                           "this model's discriminator.")
        return OptimWrapperDict(**wrappers)
