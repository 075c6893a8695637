# Copyright (c) mmseg_kd contributors. All rights reserved.
"""From recorded student/teacher tensors to named, weighted loss terms."""
import inspect
import keyword
from typing import Dict, List, Mapping, NamedTuple, Optional

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from .connectors import build_connector
from .connectors.builder import channels_of
from .weight_schedule import WeightSchedule, build_schedule


class LossRoute(NamedTuple):
    """Which tensors a loss term reads and how its weight varies."""
    student: str
    teacher: str
    schedule: Optional[WeightSchedule]
    #: extra keyword inputs of the loss (``extra_inputs``) to student tensor
    extras: Dict[str, str]


def resize_labels(labels: Tensor, size) -> Tensor:
    """Nearest-resize (B, H, W) labels to ``size`` (h, w); ignore values
    (e.g. 255) are kept as they are."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(
        labels[:, None].float(), size=tuple(size),
        mode='nearest')[:, 0].long()


def _fill_channels(cfg: dict, student: Tensor, teacher: Tensor) -> None:
    """Fill a loss's ``student_channels``/``teacher_channels`` arguments
    (e.g. CIRKD's projection head) from the probed tensors when left out."""
    cls = MODELS.get(cfg['type']) if isinstance(cfg['type'],
                                                str) else cfg['type']
    params = inspect.signature(cls.__init__).parameters
    for arg, tensor in (('student_channels', student),
                        ('teacher_channels', teacher)):
        if arg in params and cfg.get(arg) is None:
            cfg[arg] = channels_of(tensor)


def _check_name(name: str, what: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f'{what} name {name!r} must be a Python identifier '
                         '(letters, digits, underscores).')


class Distiller(BaseModule):
    """Connectors and losses of a distillation.

    Built by :class:`DistillationSegmentor` from the ``distill`` config, with
    tensors probed from both models so that connector channels can be filled
    in and every loss can check its inputs before training starts.

    Args:
        losses (dict): Term name (must contain ``'loss'``, like every mmseg
            loss key) to loss config. Besides the loss's own arguments each
            takes ``student=`` and ``teacher=`` (tensor names) and optionally
            ``weight_schedule=`` (see :mod:`.weight_schedule`).
        student_probe (dict): Student tensor name to a probed tensor.
        teacher_probe (dict): Teacher tensor name to a probed tensor.
        connectors (dict, optional): Student tensor name to a connector
            config (or a list of them, applied in order). Its target is the
            teacher tensor the losses pair it with.
        teacher_connectors (dict, optional): Parameter-free connectors for
            teacher tensors (e.g. ``TokensToMap``), applied first.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 losses: Mapping[str, dict],
                 student_probe: Mapping[str, Tensor],
                 teacher_probe: Mapping[str, Tensor],
                 connectors: Optional[Mapping[str, dict]] = None,
                 teacher_connectors: Optional[Mapping[str, dict]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if not losses:
            raise ValueError('`distill.losses` is empty: name at least one '
                             "loss, e.g. loss_kd=dict(type='KDLoss', "
                             "student='logits', teacher='logits').")
        self.routes: Dict[str, LossRoute] = {}
        loss_cfgs = {}
        for key, cfg in losses.items():
            cfg = dict(cfg)
            _check_name(key, 'Loss')
            if 'loss' not in key:
                raise ValueError(
                    f'Loss name {key!r} must contain "loss" (e.g. '
                    f"'loss_{key}'): mmengine only optimises log entries "
                    'whose name contains "loss".')
            loss_cls = MODELS.get(cfg['type']) if isinstance(
                cfg.get('type'), str) else cfg.get('type')
            if loss_cls is None:
                raise KeyError(f'Loss {key!r}: unknown type '
                               f"{cfg.get('type')!r}"
                               '; see docs/loss_reference.md.')
            route = LossRoute(
                student=cfg.pop('student', None),
                teacher=cfg.pop('teacher', None),
                schedule=build_schedule(cfg.pop('weight_schedule', None)),
                extras={
                    name: cfg.pop(name)
                    for name in getattr(loss_cls, 'extra_inputs', ())
                    if name in cfg
                })
            for name, tensor in route.extras.items():
                if tensor not in student_probe:
                    raise KeyError(
                        f'Loss {key!r}: {name}={tensor!r} is not a recorded '
                        f'student tensor; recorded: {sorted(student_probe)}.')
            for side, probe in (('student', student_probe),
                                ('teacher', teacher_probe)):
                name = getattr(route, side)
                if name not in probe:
                    raise KeyError(
                        f'Loss {key!r}: {side}={name!r} is not a recorded '
                        f'{side} tensor; recorded: {sorted(probe)}. Declare '
                        f'it in distill.{side}_tensors.')
            self.routes[key] = route
            loss_cfgs[key] = cfg

        # connector targets come from the loss pairings
        def target_of(name: str, side: str) -> str:
            other = 'teacher' if side == 'student' else 'student'
            pairs = {
                getattr(r, other)
                for r in self.routes.values() if getattr(r, side) == name
            }
            if len(pairs) != 1:
                raise ValueError(
                    f'{side.capitalize()} connector {name!r}: the losses '
                    f'pair this tensor with {sorted(pairs) or "nothing"}; '
                    'a connector needs exactly one partner. Record the tensor'
                    ' under a second name for a second partner.')
            return pairs.pop()

        self.teacher_connectors = nn.ModuleDict()
        self.teacher_targets: Dict[str, str] = {}
        teacher_probe = dict(teacher_probe)
        for name, cfg in (teacher_connectors or {}).items():
            if name not in teacher_probe:
                raise KeyError(f'teacher_connectors has {name!r}, which is not'
                               f' a teacher tensor ({sorted(teacher_probe)}).')
            target = target_of(name, 'teacher')
            chain, teacher_probe[name] = build_connector(
                cfg, teacher_probe[name], student_probe[target])
            if any(True for _ in chain.parameters()):
                raise ValueError(
                    f'Teacher connector {name!r} has parameters, but the '
                    'teacher side is not trained; use a parameter-free '
                    'connector (TokensToMap, ResizeConnector) there.')
            self.teacher_connectors[name] = chain
            self.teacher_targets[name] = target

        self.connectors = nn.ModuleDict()
        self.connector_targets: Dict[str, str] = {}
        student_probe = dict(student_probe)
        for name, cfg in (connectors or {}).items():
            if name not in student_probe:
                raise KeyError(f'connectors has {name!r}, which is not a '
                               f'student tensor ({sorted(student_probe)}).')
            target = target_of(name, 'student')
            chain, student_probe[name] = build_connector(
                cfg, student_probe[name], teacher_probe[target])
            self.connectors[name] = chain
            self.connector_targets[name] = target

        self.losses = nn.ModuleDict()
        for key, cfg in loss_cfgs.items():
            route = self.routes[key]
            _fill_channels(cfg, student_probe[route.student],
                           teacher_probe[route.teacher])
            loss = MODELS.build(cfg)
            if hasattr(loss, 'check_inputs'):
                try:
                    loss.check_inputs(student_probe[route.student],
                                      teacher_probe[route.teacher])
                except (ValueError, TypeError) as err:
                    raise type(err)(
                        f'Loss {key!r} (student {route.student!r}, teacher '
                        f'{route.teacher!r}): {err}') from err
            self.losses[key] = loss
        #: detached inputs of the adversarial losses in the last forward,
        #: for the discriminator step (see :meth:`pop_adversarial_inputs`)
        self._adversarial_inputs: Dict[str, tuple] = {}
        #: probed (connected) shapes, for the probe tool and messages
        self.student_shapes = {k: tuple(v.shape) for k, v in
                               student_probe.items()}
        self.teacher_shapes = {k: tuple(v.shape) for k, v in
                               teacher_probe.items()}

    @property
    def uses_labels(self) -> bool:
        """Whether any loss reads the ground truth."""
        return any(
            getattr(loss, 'uses_labels', False)
            for loss in self.losses.values())

    def weight_factors(self, iteration: int) -> Dict[str, float]:
        """The schedule factor of each scheduled term at ``iteration``."""
        return {
            key: route.schedule(iteration)
            for key, route in self.routes.items() if route.schedule
        }

    def connect(self, student: Mapping[str, Tensor],
                teacher: Mapping[str, Tensor]):
        """Apply the connectors: returns (student, teacher) tensor dicts."""
        teacher = dict(teacher)
        for name, chain in self.teacher_connectors.items():
            with torch.no_grad():
                teacher[name] = chain(teacher[name],
                                      student[self.teacher_targets[name]])
        student = dict(student)
        for name, chain in self.connectors.items():
            student[name] = chain(student[name],
                                  teacher[self.connector_targets[name]])
        return student, teacher

    def forward(self,
                student: Mapping[str, Tensor],
                teacher: Mapping[str, Tensor],
                labels: Optional[Tensor] = None,
                iteration: int = 0) -> Dict[str, Tensor]:
        """Compute every loss term.

        Args:
            student (dict): Recorded student tensors (with gradient).
            teacher (dict): Recorded teacher tensors (no gradient).
            labels (Tensor, optional): (B, H, W) ground truth of the batch,
                needed when a loss uses labels.
            iteration (int): Current training iteration (for schedules).

        Returns:
            dict: Term name to weighted scalar loss.
        """
        student, teacher = self.connect(student, teacher)
        factors = self.weight_factors(iteration)
        if factors:
            hub = MessageHub.get_current_instance()
            for key, factor in factors.items():
                hub.update_scalar(f'train/kd_factor.{key}', factor)
        resized: Dict[tuple, Tensor] = {}
        terms = {}
        self._adversarial_inputs = {}
        for key, loss in self.losses.items():
            route = self.routes[key]
            s, t = student[route.student], teacher[route.teacher]
            factor = factors.get(key, 1.0)
            trainable = any(p.requires_grad for p in loss.parameters())
            if factor == 0.0 and not trainable:
                terms[key] = s.new_zeros((), dtype=torch.float32)
                continue
            loss.iteration = iteration
            lab = None
            if getattr(loss, 'uses_labels', False):
                if labels is None:
                    raise ValueError(
                        f'Loss {key!r} needs ground-truth labels, but the '
                        'batch has no gt_sem_seg.')
                size = tuple(labels.shape[-2:]) if getattr(
                    loss, 'full_resolution_labels', False) else tuple(
                        s.shape[-2:])
                if size not in resized:
                    resized[size] = resize_labels(labels, size)
                lab = resized[size]
            extras = {k: student[v] for k, v in route.extras.items()}
            value = loss(s, t, lab, **extras)
            if getattr(loss, 'is_adversarial', False):
                image = extras.get('image')
                self._adversarial_inputs[key] = (
                    s.detach(), t.detach(),
                    None if image is None else image.detach())
            if isinstance(value, dict):  # several named terms
                for sub, v in value.items():
                    terms[f'{key}_{sub}'] = v * factor
            else:
                terms[key] = value * factor if factor != 1.0 else value
        return terms

    def pop_adversarial_inputs(self) -> Dict[str, tuple]:
        """The (student, teacher, image) maps the adversarial losses saw in
        the last forward, detached; cleared once taken."""
        inputs, self._adversarial_inputs = self._adversarial_inputs, {}
        return inputs

    def trainable_losses(self) -> List[str]:
        """Names of loss terms that own trainable parameters."""
        return [
            k for k, l in self.losses.items()
            if any(p.requires_grad for p in l.parameters())
        ]
