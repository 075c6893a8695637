# Copyright (c) mmseg_kd contributors. All rights reserved.
import contextlib
from typing import Dict, Mapping, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..distill.network import forward_network, parts_needed
from ..distill.recorder import TensorRecorder
from ..distill.tensor_spec import SpecLike, TensorSpec
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
        self._parts = parts_needed(spec.path
                                   for spec in self.recorder.specs.values())
        self.train(False)

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Always eval mode (``mode`` is ignored)."""
        return super().train(False)

    def init_weights(self) -> None:
        """Nothing: the teacher's weights come from its checkpoint."""

    @property
    def specs(self) -> Dict[str, TensorSpec]:
        """Its recorded tensors by name."""
        return self.recorder.specs

    def forward(
        self,
        inputs: Tensor,
        own_inputs: Optional[Mapping[str,
                                     Tensor]] = None) -> Dict[str, Tensor]:
        """Run the teacher and return its recorded tensors (no gradient).

        Args:
            inputs (Tensor): The student's preprocessed images.
            own_inputs (dict, optional): Teacher name to the images made by
                that teacher's own data preprocessor; this teacher uses its
                entry when there is one, else ``inputs``.
        """
        inputs = (own_inputs or {}).get(self.name, inputs)
        dtype = PRECISIONS[self.precision]
        ctx = contextlib.nullcontext() if dtype is None else torch.autocast(
            device_type=inputs.device.type,
            dtype=dtype,
            enabled=dtype is not torch.float32)
        with torch.no_grad(), ctx:
            _, records = self.recorder.run(
                lambda: forward_network(self.model, inputs, self._parts))
        return records


class TeacherGroup(nn.ModuleDict):
    """Several frozen teachers (``teachers=`` in the config), each with its
    own tensors, preprocessing, precision and checkpoint. Their recorded
    tensors are named ``<teacher>.<tensor>`` (e.g. ``'seg_b3.logits'``).

    Args:
        teachers (dict): Teacher name to :class:`FrozenTeacher`.
    """

    def __init__(self, teachers: Mapping[str, FrozenTeacher]) -> None:
        super().__init__(teachers)
        self.train(False)

    def train(self, mode: bool = True) -> 'TeacherGroup':
        """Always eval mode (``mode`` is ignored)."""
        return super().train(False)

    @property
    def specs(self) -> Dict[str, TensorSpec]:
        """Every teacher's recorded tensors, by qualified name."""
        return {
            f'{name}.{tensor}': spec
            for name, teacher in self.items()
            for tensor, spec in teacher.specs.items()
        }

    def forward(
        self,
        inputs: Tensor,
        own_inputs: Optional[Mapping[str,
                                     Tensor]] = None) -> Dict[str, Tensor]:
        """Every teacher's recorded tensors, by qualified name (see
        :meth:`FrozenTeacher.forward` for the arguments)."""
        return {
            f'{name}.{tensor}': value
            for name, teacher in self.items()
            for tensor, value in teacher(inputs, own_inputs).items()
        }
