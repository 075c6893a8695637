# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Where an intermediate tensor of a model lives: a module path plus which
value of that module's call to take."""
from dataclasses import dataclass
from typing import Mapping, Optional, Union

SpecLike = Union[str, Mapping]

_SIDES = ('output', 'input')
_KEYS = {'path', 'side', 'index', 'call'}


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of a model, named by the module that produces or receives it.

    Written in a config either as a plain module path (the module's output)::

        logits='decode_head.conv_seg'

    or as a dict::

        pre_relu=dict(path='decode_head.bottleneck.activate', side='input')
        c4=dict(path='backbone', index=3)          # 4th element of a tuple
        second=dict(path='neck.lateral', call=1)   # the module's 2nd call

    Args:
        name (str): The name losses and connectors refer to.
        path (str): Dotted module path, as in ``model.named_modules()``.
        side (str): ``'output'`` (what the module returns) or ``'input'``
            (its positional argument ``index``, default 0).
        index (int, optional): Element of a tuple/list output, or which
            positional input. None takes the whole output (which must then be
            a tensor) or the first input.
        call (int): Which call of the module within one forward, counted from
            0, for modules that run more than once. Defaults to 0.
    """

    name: str
    path: str
    side: str = 'output'
    index: Optional[int] = None
    call: int = 0

    @classmethod
    def parse(cls, name: str, spec: SpecLike) -> 'TensorSpec':
        """Build a spec from its config form (a path string or a dict)."""
        if isinstance(spec, TensorSpec):
            return spec
        if isinstance(spec, str):
            fields = dict(path=spec)
        elif isinstance(spec, Mapping):
            fields = dict(spec)
            unknown = set(fields) - _KEYS
            if unknown:
                raise ValueError(
                    f'Tensor spec {name!r} has unknown keys {sorted(unknown)};'
                    f' allowed keys are {sorted(_KEYS)}.')
            if 'path' not in fields:
                raise ValueError(
                    f'Tensor spec {name!r} needs a module path, e.g. '
                    f"{name}=dict(path='decode_head.conv_seg').")
        else:
            raise TypeError(
                f'Tensor spec {name!r} must be a module path string or a dict '
                f'with keys {sorted(_KEYS)}, got {type(spec).__name__}.')
        spec_obj = cls(name=name, **fields)
        spec_obj._validate()
        return spec_obj

    def _validate(self) -> None:
        if not isinstance(self.path, str):
            raise TypeError(f'Tensor spec {self.name!r}: path must be a str.')
        if self.side not in _SIDES:
            raise ValueError(f'Tensor spec {self.name!r}: side must be one of '
                             f'{_SIDES}, got {self.side!r}.')
        if self.index is not None and not isinstance(self.index, int):
            raise TypeError(
                f'Tensor spec {self.name!r}: index must be an int.')
        if not isinstance(self.call, int) or self.call < 0:
            raise ValueError(f'Tensor spec {self.name!r}: call must be an '
                             f'int >= 0, got {self.call!r}.')

    def describe(self) -> str:
        """Short human-readable form, e.g. ``backbone[3]`` or
        ``decode_head.conv_seg (input)``."""
        text = self.path or '<model>'
        if self.index is not None:
            text += f'[{self.index}]'
        if self.side == 'input':
            text += ' (input)'
        if self.call:
            text += f' (call {self.call})'
        return text
