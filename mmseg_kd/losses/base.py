# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch
from torch import Tensor, nn


class DistillLoss(nn.Module):
    """Base class of the distillation losses.

    A loss compares one student tensor with one teacher tensor (and, when
    :attr:`uses_labels` is true, the ground truth resized to the tensor's
    size). :meth:`forward` runs :meth:`compute` in float32 with autocast off,
    detaches the teacher, and multiplies by ``loss_weight``, so every loss is
    numerically safe under AMP and never sends gradient to the teacher.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    #: Whether the loss reads ground-truth labels (set per instance when it
    #: depends on a config option).
    uses_labels: bool = False
    #: With :attr:`uses_labels`, whether the labels are wanted at the input
    #: (ground-truth) resolution instead of nearest-resized to the student
    #: tensor (e.g. to resize logits to the label size, as CGD does).
    full_resolution_labels: bool = False

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        #: Training iteration, kept current by the distiller for losses that
        #: depend on it (e.g. a periodic shuffle).
        self.iteration = 0

    def forward(self,
                student: Tensor,
                teacher: Tensor,
                labels: Optional[Tensor] = None) -> Tensor:
        """Args:
            student (Tensor): Student tensor.
            teacher (Tensor): Teacher tensor (detached here).
            labels (Tensor, optional): (B, h, w) long labels at the tensors'
                resolution (at the input resolution with
                ``full_resolution_labels``), for losses with ``uses_labels``.

        Returns:
            Tensor | dict: The weighted scalar loss (float32), or for losses
            made of several terms a dict of them by name.
        """
        if self.uses_labels and labels is None:
            raise ValueError(f'{type(self).__name__} needs the ground-truth '
                             'labels; the distiller passes them when the '
                             'batch carries gt_sem_seg.')
        self.check_inputs(student, teacher)
        with torch.autocast(device_type=student.device.type, enabled=False):
            value = self.compute(student.float(), teacher.detach().float(),
                                 labels)
        if isinstance(value, dict):
            return {k: self.loss_weight * v for k, v in value.items()}
        return self.loss_weight * value

    def check_inputs(self, student: Tensor, teacher: Tensor) -> None:
        """Raise a clear error when the tensors cannot be compared. Called on
        every forward and once on probe tensors when the model is built, so
        a wrong pairing fails before training starts."""

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        """The unweighted loss (a scalar, or a dict of named scalar terms
        that are logged as ``<loss name>_<term>``); subclasses implement
        it."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
