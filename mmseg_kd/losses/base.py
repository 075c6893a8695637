# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

#: A loss input: one tensor, or one per stage for multi-stage losses
#: (``student=('c3', 'c4')`` in the config gives a list).
LossInput = Union[Tensor, Sequence[Tensor]]


def _to_float32(value: LossInput, detach: bool = False) -> LossInput:
    """float32 copy of a tensor or of each tensor of a sequence."""
    if isinstance(value, (list, tuple)):
        return [_to_float32(v, detach) for v in value]
    return (value.detach() if detach else value).float()


def _device_type(value: LossInput) -> str:
    first = value[0] if isinstance(value, (list, tuple)) else value
    return first.device.type


class DistillLoss(nn.Module):
    """Base class of the distillation losses.

    A loss compares one student tensor with one teacher tensor (or, for a
    multi-stage loss, a list of each) and, when :attr:`uses_labels` is
    true, the ground truth resized to the tensor's size. :meth:`forward`
    checks the inputs, runs :meth:`compute` in float32 with autocast off,
    detaches the teacher and multiplies by ``loss_weight``, so every loss
    is numerically safe under AMP and never sends gradient to the teacher.

    What a loss needs beyond its two tensors is declared by the class
    attributes below, each with its default here; the distiller reads them
    and nothing else.

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
    #: Whether :meth:`compute` takes the training iteration (0-based, the
    #: runner's ``iter``) as ``iteration=``.
    uses_iteration: bool = False
    #: Names of extra keyword inputs the config may map to student tensors
    #: (e.g. ``image='<student tensor name>'``), passed to :meth:`compute`.
    extra_inputs: Tuple[str, ...] = ()
    #: Whether the loss is scored by a trained critic (see
    #: :class:`~mmseg_kd.losses.adversarial.AdversarialDistillLoss`).
    adversarial: bool = False
    #: Buffers the loss keeps identical on every rank itself (e.g. CIRKD's
    #: queues), which DDP must not broadcast.
    ddp_ignore_buffers: Tuple[str, ...] = ()
    #: Whether the value is a sum over the images of the batch (it grows
    #: with the images per GPU; see the distiller's batch-size guard).
    sums_over_batch: bool = False
    #: Constructor arguments that the distiller fills in from the probed
    #: tensors when a config leaves them out: ``'student_channels'`` and/or
    #: ``'teacher_channels'`` (e.g. a projection head's sizes).
    probed_channels: Tuple[str, ...] = ()

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    @property
    def trainable(self) -> bool:
        """Whether the loss owns parameters that are trained."""
        return any(p.requires_grad for p in self.parameters())

    def forward(self,
                student: LossInput,
                teacher: LossInput,
                labels: Optional[Tensor] = None,
                iteration: int = 0,
                **extras: Tensor) -> Union[Tensor, Dict[str, Tensor]]:
        """Args:
            student (Tensor | list): Student tensor(s).
            teacher (Tensor | list): Teacher tensor(s) (detached here).
            labels (Tensor, optional): (B, h, w) long labels at the tensors'
                resolution (at the input resolution with
                ``full_resolution_labels``), for losses with ``uses_labels``.
            iteration (int): The training iteration, for losses with
                ``uses_iteration``.
            **extras: The :attr:`extra_inputs` that the config maps.

        Returns:
            Tensor | dict: The weighted scalar loss (float32), or for losses
            made of several terms a dict of them by name.
        """
        if self.uses_labels and labels is None:
            raise ValueError(f'{type(self).__name__} needs the ground-truth '
                             'labels; the distiller passes them when the '
                             'batch carries gt_sem_seg.')
        self.check_inputs(student, teacher, labels)
        if self.uses_iteration:
            extras['iteration'] = iteration
        with torch.autocast(device_type=_device_type(student), enabled=False):
            value = self.compute(
                _to_float32(student), _to_float32(teacher, detach=True),
                labels, **extras)
        if isinstance(value, dict):
            return {k: self.loss_weight * v for k, v in value.items()}
        return self.loss_weight * value

    def check_inputs(self,
                     student: LossInput,
                     teacher: LossInput,
                     labels: Optional[Tensor] = None) -> None:
        """Raise a clear error when the tensors (and labels, when given)
        cannot be compared. Called on every forward and once on probe
        tensors (without labels) when the model is built, so a wrong
        pairing fails before training starts."""

    def compute(self, student: LossInput, teacher: LossInput,
                labels: Optional[Tensor], **kwargs) -> Tensor:
        """The unweighted loss (a scalar, or a dict of named scalar terms
        that are logged as ``<loss name>_<term>``); subclasses implement
        it."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
