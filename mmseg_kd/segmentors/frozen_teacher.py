# Copyright (c) mmseg_kd contributors. All rights reserved.
import contextlib
from typing import Dict, Mapping, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..distill.network import forward_network, parts_needed
from ..distill.recorder import TensorRecorder
from ..distill.tensor_spec import SpecLike
from ..utils import load_checkpoint_strict

PRECISIONS = {
    None: None,
    'fp32': torch.float32,
    'fp16': torch.float16,
    'bf16': torch.bfloat16,
}


class FrozenTeacher(BaseModule):
    """A teacher model that is correct by construction.

    * its weights come from ``checkpoint``, loaded on the CPU, safely and
      strictly (a missing, unexpected or mis-shaped key is an error);
    * it is always in eval mode (BatchNorm, Dropout, DropPath), whatever
      ``train()`` asks, and never has a gradient (``requires_grad=False``,
      forward under ``no_grad``);
    * it never computes a loss and runs only as far as its recorded tensors
      need: the backbone and neck, then only the heads holding recorded
      tensors, and the recorder ends the forward as soon as every tensor is
      recorded;
    * it can run at its own precision (autocast dtype).

    Args:
        model (nn.Module): The built mmseg model (``model.*`` keys in the
            distillation checkpoint).
        tensors (dict): Tensor name to :class:`TensorSpec` (as in the
            config's ``teacher_tensors``).
        checkpoint (str, optional): Its weights; None keeps the random
            initialisation (with a warning).
        precision (str, optional): ``'fp32'``, ``'bf16'`` or ``'fp16'``
            autocast for the teacher alone; None follows the caller's.
        name (str): Its name in messages. Defaults to ``'teacher'``.
    """

    def __init__(self,
                 model: nn.Module,
                 tensors: Mapping[str, SpecLike],
                 checkpoint: Optional[str] = None,
                 precision: Optional[str] = None,
                 name: str = 'teacher') -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f'{name} precision must be one of '
                             f"{[p for p in PRECISIONS if p]} or None, got "
                             f'{precision!r}.')
        if checkpoint:
            load_checkpoint_strict(model, checkpoint, role=name)
        else:
            print_log(
                f'[mmseg_kd] The {name} has no checkpoint: it keeps its '
                f'random initialisation. Set {name}=dict(..., checkpoint=...)'
                ' for a real distillation.',
                logger='current',
                level=30)
        model.requires_grad_(False)
        self.model = model
        self.name = name
        self.precision = precision
        self.recorder = TensorRecorder(
            model, tensors, owner=name, stop_when_complete=True)
        self._parts = parts_needed(
            spec.path for spec in self.recorder.specs.values())
        self.train(False)

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Always eval mode (``mode`` is ignored)."""
        return super().train(False)

    def init_weights(self) -> None:
        """Nothing: the teacher's weights come from its checkpoint."""

    def forward(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Run the teacher on preprocessed ``inputs`` and return its
        recorded tensors (no gradient)."""
        dtype = PRECISIONS[self.precision]
        ctx = contextlib.nullcontext() if dtype is None else torch.autocast(
            device_type=inputs.device.type,
            dtype=dtype,
            enabled=dtype is not torch.float32)
        with torch.no_grad(), ctx:
            _, records = self.recorder.run(
                lambda: forward_network(self.model, inputs, self._parts))
        return records
