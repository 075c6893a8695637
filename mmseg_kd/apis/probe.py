# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Inspect a distillation config before training it (``tools/probe.py``).

:func:`run_probe` builds the :class:`DistillationSegmentor` of a config (the
teacher checkpoint included), runs one batch through the training path
(``data_preprocessor(batch, True)`` then ``loss``, without gradient) and
returns a :class:`ProbeReport`: every recorded tensor with its module, shape,
dtype, stride and connector, and every loss term's initial value next to the
student's task loss. :func:`list_modules` lists the module paths of the
teacher or the student, with their output shapes, to pick tensors from.

Errors are the ones training would raise, at the same place (wrong module
path, shape mismatch, missing or mismatched checkpoint, ...).
"""
import copy
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmseg.models import SegDataPreProcessor
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..distill.network import forward_network
from ..segmentors.frozen_teacher import TeacherGroup
from ..segmentors.model_loading import resolve_model_entry
from ..utils import mmseg_scope, revert_unusable_sync_bn

Shape = Tuple[int, ...]


# ------------------------------------------------------------------ results
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


# --------------------------------------------------------------- building
def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a distillation config and apply ``--cfg-options`` overrides.

    Raises:
        ValueError: When the config's model is not a DistillationSegmentor.
    """
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('model', {}).get('type') != 'DistillationSegmentor':
        raise ValueError(
            f'{path} is not a distillation config: its model type is '
            f"{cfg.get('model', {}).get('type')!r}, not "
            "'DistillationSegmentor'.")
    return cfg


def build_model(cfg: Config, device: str = 'cpu') -> nn.Module:
    """Build and initialise the config's DistillationSegmentor as training
    does (teacher checkpoint loaded, student ``init_weights``).

    Args:
        cfg (Config): A distillation config.
        device (str): Where to put the model.

    Returns:
        nn.Module: The model, on ``device``.
    """
    with mmseg_scope():
        model = MODELS.build(copy.deepcopy(cfg.model))
    logger = MMLogger.get_current_instance()
    level = logger.level
    # init_weights logs every parameter's initialisation at INFO level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    except Exception as err:  # noqa: BLE001 - re-raised with the fix
        raise RuntimeError(
            f'Initialising the student and connectors failed '
            f'({error_message(err)}). If it loads pretrained weights that '
            'are not available here, switch them off: '
            f'--cfg-options {_pretrained_off(cfg)}.') from err
    finally:
        logger.setLevel(level)
    return model.to(device)


def teacher_entries(cfg: Config) -> Dict[str, Any]:
    """The teacher entries of a distillation config by name: ``teacher``
    for ``teacher=``, each name of ``teachers=``."""
    model = cfg.model
    if model.get('teachers'):
        return dict(model.teachers)
    return dict(teacher=model.teacher)


def teacher_checkpoints(cfg: Config) -> Dict[str, Optional[str]]:
    """Teacher name ('' for the single ``teacher=``) -> its checkpoint."""
    entries = teacher_entries(cfg)
    if list(entries) == ['teacher'] and not cfg.model.get('teachers'):
        return {'': entries['teacher'].get('checkpoint')}
    return {name: e.get('checkpoint') for name, e in entries.items()}


def _pretrained_off(cfg: Config) -> str:
    """The --cfg-options that switch off the student's pretrained weights,
    wherever its config asks for them (``pretrained`` or the backbone's
    ``init_cfg``, as the SegFormer and Swin configs do)."""
    student, _ = resolve_model_entry(
        copy.deepcopy(cfg.model.student.to_dict() if hasattr(
            cfg.model.student, 'to_dict') else dict(cfg.model.student)),
        'student')
    options = []
    if student.get('pretrained'):
        options.append('model.student.overrides.pretrained=None')
    if (student.get('backbone') or {}).get('init_cfg'):
        options.append('model.student.overrides.backbone.init_cfg=None')
    return ' '.join(options) or 'model.student.overrides.pretrained=None'


def _decode_head(model: EncoderDecoder) -> nn.Module:
    """The (last) decode head of an mmseg segmentor (a cascade's last)."""
    head = model.decode_head
    return head[-1] if isinstance(head, nn.ModuleList) else head


def random_batch(size: Sequence[int],
                 batch_size: int = 2,
                 num_classes: int = 2,
                 seed: int = 0) -> dict:
    """A raw dataloader-like batch of random uint8 images and labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    size = tuple(int(s) for s in size)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(
                0, 256, (3, ) + size, generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, ) + size, generator=gen))
        sample.set_metainfo(
            dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def pad_to_probe_size(model: nn.Module, size: Sequence[int]) -> None:
    """Make the model's mmseg preprocessors (student and teachers) that pad
    to a fixed size (the config's crop) pad to ``size`` instead, so that a
    random batch of that size is probed at that size.

    Args:
        model (nn.Module): A built DistillationSegmentor.
        size (Sequence[int]): (H, W).
    """
    pre = model.data_preprocessor
    for part in [pre.student, *pre.teachers.values()]:
        if isinstance(part, SegDataPreProcessor) and part.size is not None:
            part.size = tuple(size)


def make_batch(cfg: Config,
               model: nn.Module,
               data: str = 'auto',
               input_size: Optional[Sequence[int]] = None,
               batch_size: int = 2,
               seed: int = 0) -> Tuple[dict, str]:
    """One raw batch for :func:`probe`.

    Args:
        cfg (Config): The distillation config.
        model (nn.Module): Its built model (for the random batch's classes
            and size; not changed).
        data (str): ``'data'``: the first batch of ``cfg.train_dataloader``
            (errors propagate); ``'random'``: random images and labels;
            ``'auto'``: the dataloader, falling back to random on error.
        input_size (Sequence[int], optional): (H, W) of the random batch
            (to probe it at that size rather than padded to the training
            crop, see :func:`pad_to_probe_size`). Default: the student
            preprocessor's ``size`` (the training crop), else
            ``distill.probe_size``, else 128x128.
        batch_size (int): Images in a random batch. Defaults to 2.
        seed (int): Seed of the random batch and the dataloader.

    Returns:
        tuple: The batch and a sentence saying where it comes from.
    """
    if data not in ('auto', 'data', 'random'):
        raise ValueError(f"data must be 'auto', 'data' or 'random', got "
                         f'{data!r}.')
    note = ''
    if data in ('auto', 'data'):
        try:
            return _dataloader_batch(cfg, seed), \
                'first batch of train_dataloader'
        except Exception as err:  # noqa: BLE001 - fallback or re-raise
            if data == 'data':
                raise
            note = f'; train_dataloader unavailable ({error_message(err)})'
    if input_size is not None:
        size = tuple(input_size)
    else:
        student_pre = model.data_preprocessor.student
        crop = student_pre.size if isinstance(student_pre,
                                              SegDataPreProcessor) else None
        size = crop or tuple(cfg.model.distill.get('probe_size', (128, 128)))
    num_classes = _decode_head(model.student_model).num_classes
    batch = random_batch(size, batch_size, num_classes, seed)
    return batch, (f'random batch of {batch_size} images at '
                   f'{size[0]}x{size[1]}{note}')


def _dataloader_batch(cfg: Config, seed: int) -> dict:
    from mmengine.runner import Runner
    if not cfg.get('train_dataloader'):
        raise KeyError('The config has no train_dataloader; probe a random '
                       'batch instead (--input-size H W).')
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg['num_workers'] = 0
    loader_cfg['persistent_workers'] = False
    with mmseg_scope():
        loader = Runner.build_dataloader(loader_cfg, seed=seed)
        return next(iter(loader))


# ------------------------------------------------------------------ probe
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


# ----------------------------------------------------------- list modules
def _shape_text(value: Any) -> Optional[str]:
    if isinstance(value, Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        inner = [_shape_text(v) for v in value]
        if inner and all(i is not None for i in inner):
            return '[' + ', '.join(inner) + ']'
    return None


def list_modules(cfg: Config,
                 side: str,
                 input_size: Optional[Sequence[int]] = None
                 ) -> Tuple[List[ModuleRow], str]:
    """The modules of the teacher or the student of a distillation config
    (built alone: a wrong tensor path elsewhere does not stop it), with the
    output shapes of one forward on a random image.

    Args:
        cfg (Config): A distillation config.
        side (str): ``'student'`` or ``'teacher'``.
        input_size (Sequence[int], optional): (H, W) of the image. Default:
            the model's preprocessor ``size``, else ``distill.probe_size``,
            else 128x128.

    Returns:
        tuple: The rows (``named_modules`` order) and a note on the shapes.
    """
    entries = dict(student=cfg.model.student)
    entries.update(teacher_entries(cfg))
    if side not in entries:
        raise ValueError(f'side must be one of {sorted(entries)}, got '
                         f'{side!r}.')
    entry = entries[side]
    entry = entry.to_dict() if hasattr(entry, 'to_dict') else dict(entry)
    model_cfg, _ = resolve_model_entry(entry, side)
    with mmseg_scope():
        model = revert_unusable_sync_bn(MODELS.build(model_cfg), side)
    model.eval()
    rows = [
        ModuleRow(name,
                  type(module).__name__)
        for name, module in model.named_modules() if name
    ]
    pre = model_cfg.get('data_preprocessor') or {}
    size = tuple(
        input_size or pre.get('size')
        or cfg.model.distill.get('probe_size', (128, 128)))
    outputs: Dict[str, str] = {}

    def record(name):

        def hook(module, args, output):
            if name not in outputs:
                outputs[name] = _shape_text(output)

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in model.named_modules() if name
    ]
    try:
        with torch.no_grad():
            forward_network(model, torch.randn((1, 3) + size),
                            {'decode_head', 'auxiliary_head'})
        note = f'output shapes on a 1x3x{size[0]}x{size[1]} input'
    except Exception as err:  # noqa: BLE001 - the listing is still useful
        note = (f'no output shapes: the forward on a 1x3x{size[0]}x{size[1]}'
                f' input failed ({type(err).__name__}: {err})')
    finally:
        for handle in handles:
            handle.remove()
    for row in rows:
        row.output = outputs.get(row.path)
    return rows, note


# -------------------------------------------------------------- formatting
def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)
              ] if rows else [len(h) for h in headers]
    lines = []
    for cells in [headers] + list(rows):
        lines.append('  '.join(str(c).ljust(w)
                               for c, w in zip(cells, widths)).rstrip())
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def _fmt_shape(shape: Optional[Shape]) -> str:
    return 'x'.join(str(s) for s in shape) if shape else '-'


def _fmt_stride(stride: Optional[Tuple[float, float]]) -> str:
    if stride is None:
        return '-'

    def one(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f'{x:.2f}'

    sh, sw = stride
    return one(sh) if sh == sw else f'{one(sh)}x{one(sw)}'


def _fmt_value(x: Optional[float]) -> str:
    if x is None:
        return '-'
    return f'{x:.4g}'


def format_report(report: ProbeReport, ratio: Optional[float] = None) -> str:
    """The report as text tables.

    Args:
        report (ProbeReport): What :func:`probe` found.
        ratio (float, optional): Also list, for every term, the weight that
            makes it ``ratio`` times the task loss on the probed batch.

    Returns:
        str: The text.
    """
    out = [
        f'Input: {_fmt_shape(report.input_shape)} ({report.source})',
        f'Teacher: {report.teacher}', '',
        'Recorded tensors (stride = input size / tensor size):'
    ]
    rows = []
    for row in report.tensors:
        first = True
        for side_name in ('teacher', 'student'):
            side = getattr(row, side_name)
            if side is None:
                continue
            rows.append([
                row.name if first else '', side_name, side.path,
                _fmt_shape(side.shape), side.dtype,
                _fmt_stride(side.stride), side.connector or '-',
                _fmt_shape(side.connected_shape)
            ])
            first = False
    out.append(
        _table([
            'name', 'side', 'module', 'shape', 'dtype', 'stride', 'connector',
            'connected'
        ], rows))
    task = ' + '.join(f'{k} {v:.4g}' for k, v in report.task_losses.items())
    out += [
        '', f'Loss terms at iteration {report.iteration} (student task loss '
        f'{report.task_total:.4g} = {task or "nothing"}):'
    ]
    out.append(
        _table([
            'term', 'type', 'student -> teacher', 'loss_weight', 'schedule',
            'unweighted', 'value', 'value / task'
        ], [[
            term.name, term.type, f'{term.student} -> {term.teacher}',
            f'{term.loss_weight:g}' +
            (' (calibrated)' if term.calibrated else ''),
            '-' if term.factor is None else f'x{term.factor:g}',
            _fmt_value(term.unweighted),
            _fmt_value(term.value),
            _fmt_value(term.ratio)
        ] for term in report.losses]))
    out.append('(value = loss_weight x schedule x unweighted, as logged in '
               'training)')
    if ratio is not None:
        weights = report.weights_for_ratio(ratio)
        out += [
            '', f'Weights that make each term {ratio:g} x the '
            "task loss on this batch (loss_weight=dict(type='Calibrated',"
            f' ratio={ratio:g})):',
            _table(['term', 'loss_weight'],
                   [[k, f'{v:.4g}'] for k, v in weights.items()])
        ]
    for note in report.notes:
        out.append(f'Note: {note}')
    return '\n'.join(out)


def format_modules(rows: List[ModuleRow], side: str, note: str) -> str:
    """The module listing as a text table."""
    return f'{side} modules ({note}):\n' + _table(
        ['path', 'class', 'output'], [[r.path, r.cls, r.output or '-']
                                      for r in rows])


def error_message(err: BaseException) -> str:
    """``Type: message`` without the quotes KeyError adds."""
    msg = err.args[0] if isinstance(err, KeyError) and len(
        err.args) == 1 and isinstance(err.args[0], str) else str(err)
    return f'{type(err).__name__}: {msg}'
