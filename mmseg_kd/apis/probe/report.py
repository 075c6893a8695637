# Copyright (c) mmseg_kd contributors. All rights reserved.
"""What the probe finds: the report and its rows (plain data)."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

Shape = Tuple[int, ...]


@dataclass
class TensorSide:
    """One side (student or teacher) of a recorded tensor.

    Attributes:
        path (str): Where it is recorded (module path, index, side, call).
        shape (tuple): Its shape on the probe batch.
        dtype (str): Its dtype, e.g. ``'float32'``.
        stride (tuple, optional): (input H / h, input W / w); None for a
            tensor that is not a (B, C, h, w) map.
        connector (str, optional): The connector chain applied to it, or None.
        connected_shape (tuple, optional): Its shape after the connectors.
    """
    path: str
    shape: Shape
    dtype: str
    stride: Optional[Tuple[float, float]]
    connector: Optional[str] = None
    connected_shape: Optional[Shape] = None


@dataclass
class TensorRow:
    """A recorded tensor name with its student and/or teacher side.

    Attributes:
        name (str): The tensor's name in the config.
        student (TensorSide, optional): The student's side.
        teacher (TensorSide, optional): The teacher's side.
    """
    name: str
    student: Optional[TensorSide] = None
    teacher: Optional[TensorSide] = None


@dataclass
class LossRow:
    """A distillation loss term at the probed iteration.

    Attributes:
        name (str): Term name (e.g. ``'loss_kd'``).
        type (str): Loss class name.
        student (str): Student tensor it reads.
        teacher (str): Teacher tensor it reads.
        loss_weight (float): The term's weight: the loss's
            ``loss_weight``, or its calibrated weight.
        calibrated (bool): Whether the weight was set by calibration
            (``loss_weight=dict(type='Calibrated', ...)``).
        factor (float, optional): The weight schedule's factor at the probed
            iteration; None when the term is not scheduled.
        value (float): The term as training logs it (weighted, scheduled).
        ratio (float, optional): ``value`` / the student's task loss (None
            when the task loss is 0).
    """
    name: str
    type: str
    student: str
    teacher: str
    loss_weight: float
    factor: Optional[float]
    value: float
    ratio: Optional[float]
    calibrated: bool = False

    @property
    def unweighted(self) -> Optional[float]:
        """The loss before ``loss_weight`` and the schedule (None when
        their product is 0)."""
        scale = self.loss_weight * (1.0
                                    if self.factor is None else self.factor)
        return self.value / scale if scale else None


@dataclass
class ProbeReport:
    """What :func:`probe` finds on one batch.

    Attributes:
        input_shape (tuple): (B, C, H, W) of the student's preprocessed
            inputs.
        source (str): Where the batch comes from.
        iteration (int): The iteration the terms were evaluated at.
        tensors (list[TensorRow]): Every recorded tensor, both sides.
        task_losses (dict): The student's own loss terms by name.
        task_total (float): Their sum.
        losses (list[LossRow]): Every distillation term.
        teacher (str): The teachers: checkpoints, classes, parameters.
        notes (list[str]): Remarks printed under the tables.
    """
    input_shape: Shape
    source: str
    iteration: int
    tensors: List[TensorRow]
    task_losses: Dict[str, float]
    task_total: float
    losses: List[LossRow]
    teacher: str
    notes: List[str] = field(default_factory=list)

    def weights_for_ratio(self, ratio: float) -> Dict[str, float]:
        """Term name -> the weight that makes it ``ratio`` times the task
        loss on this batch (what ``loss_weight=dict(type='Calibrated',
        ratio=ratio)`` would set); terms whose unweighted value is 0 or
        unknown are left out."""
        return {
            row.name: ratio * self.task_total / row.unweighted
            for row in self.losses if row.unweighted and self.task_total
        }


@dataclass
class ModuleRow:
    """A module of a model: its path, class and output shape(s).

    Attributes:
        path (str): The module path (what a tensor spec names).
        cls (str): The module's class name.
        output (str, optional): Its output shape(s) on the listed batch;
            None when it did not run.
    """
    path: str
    cls: str
    output: Optional[str] = None
