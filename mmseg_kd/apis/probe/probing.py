# Copyright (c) mmseg_kd contributors. All rights reserved.
"""One batch through the training path: every recorded tensor and every
loss term (:func:`probe`, :func:`run_probe`)."""
from typing import Any, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from torch import Tensor, nn

from ...segmentors.frozen_teacher import TeacherGroup
from .inputs import (build_model, make_batch, pad_to_probe_size,
                     teacher_checkpoints)
from .report import LossRow, ProbeReport, Shape, TensorRow, TensorSide


def describe_connector(chain: nn.Module) -> str:
    """Short description of a connector chain, e.g.
    ``ChannelConnector(Conv1x1 128->512 no bias)``."""
    parts = []
    for connector in chain:
        leaves = []
        for module in connector.modules():
            if module is connector or any(True for _ in module.children()):
                continue
            if isinstance(module, nn.Conv2d):
                k = 'x'.join(str(s) for s in module.kernel_size)
                leaves.append(f'Conv{k} {module.in_channels}->'
                              f'{module.out_channels}' +
                              ('' if module.bias is not None else ' no bias'))
            else:
                leaves.append(type(module).__name__)
        own = connector.extra_repr()
        inner = ', '.join(([own] if own else []) + leaves)
        parts.append(f'{type(connector).__name__}({inner})'
                     if inner else type(connector).__name__)
    return ' -> '.join(parts)


def _stride(shape: Shape, input_hw: Tuple[int, int]):
    if len(shape) != 4:
        return None
    return (input_hw[0] / shape[2], input_hw[1] / shape[3])


def _side(spec, tensor: Tensor, input_hw, chain=None, connected=None):
    return TensorSide(
        path=spec.describe(),
        shape=tuple(tensor.shape),
        dtype=str(tensor.dtype).replace('torch.', ''),
        stride=_stride(tuple(tensor.shape), input_hw),
        connector=describe_connector(chain) if chain is not None else None,
        connected_shape=connected)


def _as_float(value: Any) -> float:
    if isinstance(value, (list, tuple)):
        return float(sum(float(v) for v in value))
    return float(value)


def probe(model: nn.Module,
          batch: dict,
          iteration: int = 0,
          source: str = 'given batch',
          checkpoint_note: Optional[str] = None) -> ProbeReport:
    """Run one batch through the training path of a DistillationSegmentor
    (:meth:`~DistillationSegmentor.distill_step`, without gradient) and
    tabulate what it returns.

    Args:
        model (nn.Module): A built DistillationSegmentor.
        batch (dict): A raw batch (``inputs`` and ``data_samples``).
        iteration (int): The iteration the loss terms are evaluated at (for
            weight schedules). Defaults to 0.
        source (str): Where the batch comes from, for the report.
        checkpoint_note (str, optional): Where the teachers' weights come
            from, put before the teacher description.

    Returns:
        ProbeReport: Tensors, loss terms and the student's task losses.

    Raises:
        RuntimeError: When the teacher is not frozen (a bug), and every
            error training would raise on this batch.
    """
    distiller = model.distiller_module
    was_training = model.training
    model.train()
    try:
        # gradients only when a Calibrated weight is set from them
        with torch.set_grad_enabled(distiller.calibrates_gradients):
            data = model.data_preprocessor(batch, True)
            step = model.distill_step(data['inputs'], data['data_samples'],
                                      data.get('teacher_inputs'), iteration)
    finally:
        model.train(was_training)

    teacher = model.teacher
    if any(m.training for m in teacher.modules()) or any(
            p.requires_grad or p.grad is not None
            for p in teacher.parameters()):
        raise RuntimeError('The teacher is not frozen (a module in training '
                           'mode or a parameter with gradient): this is a '
                           'bug in mmseg_kd, please report it.')

    input_hw = tuple(data['inputs'].shape[-2:])
    out = step.distill
    rows = []
    sides = (('student', model.student_recorder.specs, step.student_records,
              distiller.connectors, out.student),
             ('teacher', teacher.specs, step.teacher_records,
              distiller.teacher_connectors, out.teacher))
    names = list(
        sides[0][1]) + [n for n in sides[1][1] if n not in sides[0][1]]
    for name in names:
        row = TensorRow(name)
        for side, specs, records, chains, connected in sides:
            if name not in specs:
                continue
            chain = chains[name] if name in chains else None
            setattr(
                row, side,
                _side(specs[name], records[name], input_hw, chain,
                      None if chain is None else tuple(connected[name].shape)))
        rows.append(row)

    task = {
        k: _as_float(v)
        for k, v in step.task_losses.items() if 'loss' in k
    }
    task_total = sum(task.values())
    loss_rows = []
    for term, tensor in out.terms.items():
        key = max((k for k in distiller.losses
                   if term == k or term.startswith(k + '_')),
                  key=len)
        loss, route = distiller.losses[key], distiller.routes[key]
        value = _as_float(tensor)
        loss_rows.append(
            LossRow(
                name=term,
                type=type(loss).__name__,
                student=_names(route.student),
                teacher=_names(route.teacher),
                loss_weight=loss.loss_weight * out.weights.get(key, 1.0),
                calibrated=key in out.weights,
                factor=out.factors.get(key),
                value=value,
                ratio=value / task_total if task_total else None))

    members = teacher.items() if isinstance(
        teacher, TeacherGroup) else [('teacher', teacher)]
    teacher_desc = '; '.join(
        f'{name}: {type(t.model).__name__}, '
        f'{sum(p.numel() for p in t.parameters()):,} parameters'
        for name, t in members) + ', eval mode, requires_grad=False'
    # tensors made from several teachers (teacher_ensembles)
    for name, ensemble in distiller.ensembles.items():
        rows.append(
            TensorRow(
                name,
                teacher=TensorSide(
                    path=type(ensemble).__name__ + '(' +
                    ', '.join(ensemble.inputs) + ')',
                    shape=tuple(out.teacher[name].shape),
                    dtype=str(out.teacher[name].dtype).replace('torch.', ''),
                    stride=_stride(tuple(out.teacher[name].shape), input_hw))))
    return ProbeReport(
        input_shape=tuple(data['inputs'].shape),
        source=source,
        iteration=iteration,
        tensors=rows,
        task_losses=task,
        task_total=task_total,
        losses=loss_rows,
        teacher=teacher_desc
        if checkpoint_note is None else f'{checkpoint_note}; {teacher_desc}')


def _names(names) -> str:
    return names if isinstance(names, str) else ', '.join(names)


def run_probe(cfg: Config,
              data: str = 'auto',
              input_size: Optional[Sequence[int]] = None,
              iteration: int = 0,
              device: str = 'cpu') -> ProbeReport:
    """Build the config's model, take a batch (see :func:`make_batch`) and
    :func:`probe` it.

    Args:
        cfg (Config): A distillation config.
        data (str): ``'auto'``, ``'data'`` or ``'random'``.
        input_size (Sequence[int], optional): (H, W) of a random batch
            (``data='random'``), probed at that size.
        iteration (int): Iteration for the weight schedules.
        device (str): Where to run.

    Returns:
        ProbeReport: The report, with the teacher checkpoints in its
        teacher description.
    """
    if input_size is not None and data != 'random':
        raise ValueError('input_size is the size of a random batch: pass '
                         f"data='random' with it (got data={data!r}).")
    model = build_model(cfg, device)
    if input_size is not None:
        pad_to_probe_size(model, input_size)
    batch, source = make_batch(cfg, model, data, input_size)
    checkpoints = '; '.join(
        (f'{name}: ' if name else '') +
        (f'checkpoint {c}' if c else 'NO checkpoint (random weights)')
        for name, c in teacher_checkpoints(cfg).items())
    return probe(model, batch, iteration, source, checkpoints)
