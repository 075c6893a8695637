# Copyright (c) mmseg_kd contributors. All rights reserved.
"""From recorded student/teacher tensors to named, weighted loss terms."""
import keyword
import logging
import math
from typing import (Callable, Collection, Dict, List, Mapping, NamedTuple,
                    Optional, Sequence, Tuple, Type, Union)

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..losses.base import DistillLoss
from .calibration import (LOW_COSINE, Calibration, Estimate, calibrated_names,
                          estimate_weight, parse_loss_weight, running_mean)
from .connectors import build_connector
from .connectors.builder import channels_of
from .discriminators import AdversarialInputs
from .weight_schedule import WeightSchedule, build_schedule

#: A loss reads one tensor per side, or (multi-stage losses) several.
TensorNames = Union[str, Tuple[str, ...]]


class LossRoute(NamedTuple):
    """Which tensors a loss term reads and how its weight varies.

    Attributes:
        student (str | tuple[str]): The student tensor name(s).
        teacher (str | tuple[str]): The teacher tensor name(s).
        schedule (WeightSchedule, optional): Its weight schedule.
        extras (dict): Extra keyword inputs of the loss to student tensor
            names.
        tuned_images_per_gpu (int, optional): Images per GPU the weight was
            tuned for (batch-summed losses only).
        on_batch_change (str): ``'warn'`` or ``'rescale'`` when the images
            per GPU differ from it.
        calibration (Calibration, optional): A weight that sets itself.
    """
    student: TensorNames
    teacher: TensorNames
    schedule: Optional[WeightSchedule]
    extras: Dict[str, str]
    tuned_images_per_gpu: Optional[int] = None
    on_batch_change: str = 'warn'
    calibration: Optional[Calibration] = None

    def names(self, side: str) -> Tuple[str, ...]:
        """The tensor names this route reads on ``side``."""
        value = getattr(self, side)
        return (value, ) if isinstance(value, str) else tuple(value)


class DistillOutput(NamedTuple):
    """What :meth:`Distiller.forward` returns for one step.

    Attributes:
        terms (dict): Term name to weighted, scheduled scalar loss (the
            names training logs; a multi-term loss gives
            ``<name>_<term>``).
        factors (dict): Term name to the factor its weight was multiplied
            by: the weight schedule's, times the batch-size rescaling of a
            batch-summed term (only terms with a factor are listed).
        weights (dict): Calibrated term name to its current weight.
        adversarial (dict): Adversarial loss name to the detached maps its
            critic is trained on after the student update.
        student (dict): Student tensors after the connectors.
        teacher (dict): Teacher tensors after the teacher connectors.
    """
    terms: Dict[str, Tensor]
    factors: Dict[str, float]
    weights: Dict[str, float]
    adversarial: Dict[str, AdversarialInputs]
    student: Dict[str, Tensor]
    teacher: Dict[str, Tensor]


def _select(tensors: Mapping[str, Tensor],
            names: TensorNames) -> Union[Tensor, List[Tensor]]:
    """One tensor for a name, a list for a tuple of names."""
    if isinstance(names, str):
        return tensors[names]
    return [tensors[n] for n in names]


def resize_labels(labels: Tensor, size: Sequence[int]) -> Tensor:
    """Nearest-resize (B, H, W) labels to ``size`` (h, w); ignore values
    (e.g. 255) are kept as they are."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(
        labels[:, None].float(), size=tuple(size), mode='nearest')[:,
                                                                   0].long()


def _loss_class(key: str, cfg: dict) -> Type[DistillLoss]:
    """The registered class of loss entry ``key``; a clear error for an
    unknown type or a class that is not a distillation loss."""
    cls = MODELS.get(cfg['type']) if isinstance(cfg.get('type'),
                                                str) else cfg.get('type')
    if cls is None:
        raise KeyError(f'Loss {key!r}: unknown type {cfg.get("type")!r}'
                       '; see docs/loss_reference.md.')
    if not (isinstance(cls, type) and issubclass(cls, DistillLoss)):
        raise TypeError(
            f'Loss {key!r}: {getattr(cls, "__name__", cls)} is not a '
            'distillation loss: subclass mmseg_kd.losses.DistillLoss (its '
            "compute(student, teacher, labels) compares the two networks' "
            'tensors).')
    return cls


def _fill_channels(cls: Type[DistillLoss], cfg: dict, student,
                   teacher) -> None:
    """Fill the arguments a loss declares in ``probed_channels`` (e.g.
    CIRKD's projection head sizes) from the probed tensors when left out."""
    probed = dict(student_channels=student, teacher_channels=teacher)
    for arg in cls.probed_channels:
        tensor = probed[arg]
        if cfg.get(arg) is None:
            if isinstance(tensor, list):
                raise ValueError(f'{cls.__name__} reads one tensor per side;'
                                 ' give it a single tensor name.')
            cfg[arg] = channels_of(tensor)


def _check_name(name: str, what: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f'{what} name {name!r} must be a Python identifier '
                         '(letters, digits, underscores).')


def _as_names(value, key: str, side: str) -> TensorNames:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, str) for v in value):
        return tuple(value)
    raise KeyError(f'Loss {key!r}: give {side}= a recorded {side} tensor '
                   "name (or, for a multi-stage loss, a list of names), e.g. "
                   f"{side}='logits'.")


class Distiller(BaseModule):
    """Connectors and losses of a distillation.

    Built by :class:`DistillationSegmentor` from the ``distill`` config, with
    tensors probed from both models so that connector channels can be filled
    in and every loss can check its inputs before training starts. Its
    forward is a pure step: recorded tensors, labels and the iteration in,
    a :class:`DistillOutput` out.

    Args:
        losses (dict): Term name (must contain ``'loss'``, like every mmseg
            loss key) to loss config. Besides the loss's own arguments each
            takes ``student=`` and ``teacher=`` (tensor names, or lists of
            names for multi-stage losses) and optionally
            ``weight_schedule=`` (see :mod:`.weight_schedule`).
        student_probe (dict): Student tensor name to a probed tensor.
        teacher_probe (dict): Teacher tensor name to a probed tensor.
        connectors (dict, optional): Student tensor name to a connector
            config (or a list of them, applied in order). Its target is the
            teacher tensor the losses pair it with.
        teacher_connectors (dict, optional): Parameter-free connectors for
            teacher tensors (e.g. ``TokensToMap``), applied first.
        teacher_ensembles (dict, optional): New teacher tensor name to a
            parameter-free combination of several teachers' tensors (e.g.
            ``MeanTeacherProbabilities``), computed before the connectors.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 losses: Mapping[str, dict],
                 student_probe: Mapping[str, Tensor],
                 teacher_probe: Mapping[str, Tensor],
                 connectors: Optional[Mapping[str, dict]] = None,
                 teacher_connectors: Optional[Mapping[str, dict]] = None,
                 teacher_ensembles: Optional[Mapping[str, dict]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.ensembles = nn.ModuleDict()
        teacher_probe = dict(teacher_probe)
        for name, cfg in (teacher_ensembles or {}).items():
            _check_name(name, 'Teacher ensemble')
            if name in teacher_probe:
                raise KeyError(f'teacher_ensembles: {name!r} is already a '
                               'teacher tensor; choose another name.')
            ensemble = MODELS.build(dict(cfg))
            unknown = [n for n in ensemble.inputs if n not in teacher_probe]
            if unknown:
                raise KeyError(f'teacher_ensembles.{name}: {unknown} are not '
                               f'teacher tensors ({sorted(teacher_probe)}).')
            with torch.no_grad():
                teacher_probe[name] = ensemble(
                    [teacher_probe[n] for n in ensemble.inputs])
            self.ensembles[name] = ensemble
        if not losses:
            raise ValueError('`distill.losses` is empty: name at least one '
                             "loss, e.g. loss_kd=dict(type='KDLoss', "
                             "student='logits', teacher='logits').")
        self.routes: Dict[str, LossRoute] = {}
        loss_cfgs = {}
        for key, cfg in losses.items():
            self.routes[key], loss_cfgs[key] = self._route(
                key, dict(cfg), student_probe, teacher_probe)

        self.teacher_connectors = nn.ModuleDict()
        self.teacher_targets: Dict[str, str] = {}
        for name, cfg in (teacher_connectors or {}).items():
            if name not in teacher_probe:
                raise KeyError(f'teacher_connectors has {name!r}, which is not'
                               f' a teacher tensor ({sorted(teacher_probe)}).')
            target = self._partner(name, 'teacher')
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
            target = self._partner(name, 'student')
            chain, student_probe[name] = build_connector(
                cfg, student_probe[name], teacher_probe[target])
            self.connectors[name] = chain
            self.connector_targets[name] = target

        self.losses = nn.ModuleDict()
        for key, cfg in loss_cfgs.items():
            route = self.routes[key]
            s = _select(student_probe, route.student)
            t = _select(teacher_probe, route.teacher)
            _fill_channels(_loss_class(key, cfg), cfg, s, t)
            loss = MODELS.build(cfg)
            try:
                loss.check_inputs(s, t)
            except (ValueError, TypeError) as err:
                raise type(err)(
                    f'Loss {key!r} (student {route.student!r}, teacher '
                    f'{route.teacher!r}): {err}') from err
            if route.tuned_images_per_gpu is not None and \
                    not loss.sums_over_batch:
                raise ValueError(
                    f'Loss {key!r}: tuned_images_per_gpu applies to terms '
                    'summed over the batch (e.g. SKDPixelWiseLoss with '
                    "reduction='batch_sum'); this one is a mean. Remove it.")
            self.losses[key] = loss
        self._warned_batch: set = set()
        #: the calibrated weights and how many steps each has seen (both in
        #: the checkpoint: a resumed run never calibrates again), and for
        #: on='grad' the mean cosine of their gradients with the task's and
        #: how many steps it has seen (a diagnostic for the log, not in the
        #: checkpoint: older checkpoints stay loadable; after a resume it
        #: covers the steps since)
        self.calibrated = calibrated_names(k for k, r in self.routes.items()
                                           if r.calibration)
        self.register_buffer(
            'calibrated_weights',
            torch.full((len(self.calibrated), ),
                       float('nan'),
                       dtype=torch.float64))
        self.register_buffer(
            'calibration_cosines',
            torch.full((len(self.calibrated), ),
                       float('nan'),
                       dtype=torch.float64),
            persistent=False)
        self.register_buffer(
            'calibration_cosine_steps',
            torch.zeros(len(self.calibrated), dtype=torch.long),
            persistent=False)
        self.register_buffer(
            'calibration_steps',
            torch.zeros(len(self.calibrated), dtype=torch.long))
        #: probed (connected) shapes, for the probe tool and messages
        self.student_shapes = {
            k: tuple(v.shape)
            for k, v in student_probe.items()
        }
        self.teacher_shapes = {
            k: tuple(v.shape)
            for k, v in teacher_probe.items()
        }

    @staticmethod
    def _route(key: str, cfg: dict, student_probe: Mapping[str, Tensor],
               teacher_probe: Mapping[str, Tensor]) -> Tuple[LossRoute, dict]:
        """Split a loss entry into its route and the loss's own config."""
        _check_name(key, 'Loss')
        if 'loss' not in key:
            raise ValueError(
                f'Loss name {key!r} must contain "loss" (e.g. '
                f"'loss_{key}'): mmengine only optimises log entries "
                'whose name contains "loss".')
        loss_cls = _loss_class(key, cfg)
        route = LossRoute(
            student=_as_names(cfg.pop('student', None), key, 'student'),
            teacher=_as_names(cfg.pop('teacher', None), key, 'teacher'),
            schedule=build_schedule(cfg.pop('weight_schedule', None)),
            extras={
                name: cfg.pop(name)
                for name in loss_cls.extra_inputs if name in cfg
            },
            tuned_images_per_gpu=cfg.pop('tuned_images_per_gpu', None),
            on_batch_change=cfg.pop('on_batch_change', 'warn'))
        if 'loss_weight' in cfg:
            cfg['loss_weight'], calibration = parse_loss_weight(
                cfg['loss_weight'], key)
            route = route._replace(calibration=calibration)
        if route.on_batch_change not in ('warn', 'rescale'):
            raise ValueError(f"Loss {key!r}: on_batch_change must be 'warn' "
                             "or 'rescale', got "
                             f'{route.on_batch_change!r}.')
        for name, tensor in route.extras.items():
            if tensor not in student_probe:
                raise KeyError(
                    f'Loss {key!r}: {name}={tensor!r} is not a recorded '
                    f'student tensor; recorded: {sorted(student_probe)}.')
        for side, probe in (('student', student_probe), ('teacher',
                                                         teacher_probe)):
            for name in route.names(side):
                if name not in probe:
                    raise KeyError(
                        f'Loss {key!r}: {side}={name!r} is not a recorded '
                        f'{side} tensor; recorded: {sorted(probe)}. Declare '
                        f'it in distill.{side}_tensors.')
        return route, cfg

    def _partner(self, name: str, side: str) -> str:
        """The one tensor of the other side that the losses pair ``name``
        with (a connector's target)."""
        other = 'teacher' if side == 'student' else 'student'
        pairs = set()
        for route in self.routes.values():
            mine, theirs = route.names(side), route.names(other)
            for i, n in enumerate(mine):
                if n == name:
                    pairs.add(theirs[i] if len(theirs) == len(mine) else None)
        if len(pairs) != 1 or None in pairs:
            partners = sorted(p for p in pairs if p) or 'nothing'
            raise ValueError(
                f'{side.capitalize()} connector {name!r}: the losses pair '
                f'this tensor with {partners}; a connector needs exactly one '
                'partner. Record the tensor under a second name for a second '
                'partner.')
        return pairs.pop()

    @property
    def uses_labels(self) -> bool:
        """Whether any loss reads the ground truth."""
        return any(loss.uses_labels for loss in self.losses.values())

    def build_critics(self) -> Dict[str, nn.Module]:
        """One critic per adversarial loss, for the channels of its probed
        student maps."""
        return {
            key:
            loss.build_critic(self.student_shapes[self.routes[key].student][1])
            for key, loss in self.adversarial_losses.items()
        }

    def logit_terms(
            self, student_logits: Collection[str],
            teacher_logits: Collection[str]) -> Dict[str, Tuple[str, str]]:
        """Term name to its (student, teacher) tensor, for the terms that
        compare logits: one student tensor of ``student_logits`` and one
        teacher tensor of ``teacher_logits`` (or a teacher ensemble), of the
        same shape."""
        out = {}
        for key, route in self.routes.items():
            s, t = route.student, route.teacher
            if isinstance(s, str) and isinstance(t, str) and \
                    s in student_logits and \
                    (t in teacher_logits or t in self.ensembles) and \
                    self.student_shapes[s] == self.teacher_shapes[t]:
                out[key] = (s, t)
        return out

    @property
    def calibrates_gradients(self) -> bool:
        """Whether a Calibrated weight still to be set needs gradients."""
        return any(self.routes[k].calibration.on == 'grad' and int(
            self.calibration_steps[i]) < self.routes[k].calibration.steps
                   for i, k in enumerate(self.calibrated))

    @property
    def adversarial_losses(self) -> Dict[str, nn.Module]:
        """The adversarial losses by name."""
        return {k: v for k, v in self.losses.items() if v.adversarial}

    def weight_factors(
            self,
            iteration: int,
            images_per_gpu: Optional[int] = None) -> Dict[str, float]:
        """The factor of each term's weight at ``iteration``: its schedule's,
        times tuned / actual images per GPU for a batch-summed term with
        ``on_batch_change='rescale'``. Terms with neither are left out."""
        factors = {}
        for key, route in self.routes.items():
            factor = route.schedule(iteration) if route.schedule else None
            batch = self._batch_factor(key, images_per_gpu)
            if batch is not None:
                factor = batch * (1.0 if factor is None else factor)
            if factor is not None:
                factors[key] = factor
        return factors

    def _batch_factor(self, key: str,
                      images_per_gpu: Optional[int]) -> Optional[float]:
        """The batch-size guard of a batch-summed term: None when nothing is
        to be done, else the factor that restores the per-image strength
        (applied with ``'rescale'``, announced once with ``'warn'``)."""
        route = self.routes[key]
        tuned = route.tuned_images_per_gpu
        if images_per_gpu is None or tuned is None or \
                images_per_gpu == tuned:
            return None
        factor = tuned / images_per_gpu
        if key not in self._warned_batch:
            self._warned_batch.add(key)
            what = ('its weight is rescaled by' if route.on_batch_change
                    == 'rescale' else 'its per-image strength differs by')
            print_log(
                f'[mmseg_kd] Loss {key!r} is summed over the batch and was '
                f'tuned for {tuned} images per GPU; this run has '
                f'{images_per_gpu}, so {what} x{factor:g}. '
                "on_batch_change='rescale' keeps the tuned per-image "
                "strength; 'warn' (the default) only says so.",
                logger='current',
                level=logging.WARNING)
        return factor if route.on_batch_change == 'rescale' else None

    def _active(self, factors: Mapping[str, float]) -> List[str]:
        """The terms computed this step: every term whose factor is not 0,
        and zero-factor terms whose graph reaches trainable parameters (a
        connector, the loss's own or, for an adversarial loss, its critic),
        which are computed times 0 so that those parameters get a (zero)
        gradient, as DDP requires of every parameter in every step. So the
        critic of a stopped adversarial term keeps training on the maps
        (the critics share one DDP wrapper, where an idle critic would be
        an unused parameter)."""
        active = []
        for key, loss in self.losses.items():
            route = self.routes[key]
            connected = any(
                n in self.connectors for n in route.names('student'))
            if factors.get(key, 1.0) != 0.0 or loss.trainable or connected \
                    or loss.adversarial:
                active.append(key)
        return active

    def connect(
        self, student: Mapping[str, Tensor], teacher: Mapping[str, Tensor]
    ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Apply the connectors: returns (student, teacher) tensor dicts."""
        teacher = dict(teacher)
        with torch.no_grad():
            for name, ensemble in self.ensembles.items():
                teacher[name] = ensemble([teacher[n] for n in ensemble.inputs])
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
                iteration: int = 0,
                critics: Optional[Mapping[str, nn.Module]] = None,
                task_loss: Optional[Tensor] = None,
                gradient: Optional[Callable[[Tensor], Tensor]] = None,
                calibrate: bool = True) -> DistillOutput:
        """Compute every loss term of one step.

        Args:
            student (dict): Recorded student tensors (with gradient).
            teacher (dict): Recorded teacher tensors (no gradient).
            labels (Tensor, optional): (B, H, W) ground truth of the batch,
                needed when a loss uses labels.
            iteration (int): The training iteration (0-based, the runner's
                ``iter``), for schedules and iteration-dependent losses.
            critics (dict, optional): Adversarial loss name to its critic
                (frozen by the caller), needed when there are adversarial
                losses.
            task_loss (Tensor, optional): The student's task loss, needed
                while a Calibrated weight is being set.
            gradient (callable, optional): Tensor -> its flat gradient on
                the student's parameters, for ``on='grad'`` calibration.
            calibrate (bool): Whether Calibrated weights still being set
                learn from this step (training, the probe). False for an
                evaluation: weights are read as they are, one not set yet
                counting 0. Defaults to True.

        Returns:
            DistillOutput: The terms and what was computed on the way.
        """
        first = next(iter(student.values()))
        factors = self.weight_factors(iteration, first.shape[0])
        active = self._active(factors)
        student, teacher = self.connect(student, teacher)
        resized: Dict[tuple, Tensor] = {}
        terms, adversarial = {}, {}
        for key, loss in self.losses.items():
            route = self.routes[key]
            s = _select(student, route.student)
            factor = factors.get(key, 1.0)
            if key not in active:
                first = s if isinstance(s, Tensor) else s[0]
                terms[key] = first.new_zeros((), dtype=torch.float32)
                continue
            extras = {k: student[v] for k, v in route.extras.items()}
            if loss.adversarial:
                if not critics or key not in critics:
                    raise ValueError(f'Loss {key!r} is adversarial: pass its '
                                     'critic (critics=...).')
                extras['critic'] = critics[key]
            value = loss(s, _select(teacher, route.teacher),
                         self._labels_for(key, s, labels, resized), iteration,
                         **extras)
            if loss.adversarial:
                image = extras.get('image')
                adversarial[key] = AdversarialInputs(
                    s.detach(),
                    _select(teacher, route.teacher).detach(),
                    None if image is None else image.detach())
            if route.calibration:
                # a term its schedule holds at 0 (computed only for DDP's
                # sake) does not calibrate: its weight is set on the steps
                # where it counts
                weight = self._calibrated_weight(key, value, task_loss,
                                                 gradient, calibrate
                                                 and factor != 0.0)
                value = ({
                    k: v * weight
                    for k, v in value.items()
                } if isinstance(value, dict) else value * weight)
            if isinstance(value, dict):  # several named terms
                for sub, v in value.items():
                    terms[f'{key}_{sub}'] = v * factor
            else:
                terms[key] = value * factor if factor != 1.0 else value
        weights = dict(zip(self.calibrated, self.calibrated_weights.tolist()))
        return DistillOutput(terms, factors, weights, adversarial, student,
                             teacher)

    def _calibrated_weight(self, key: str, value, task_loss: Optional[Tensor],
                           gradient, calibrate: bool) -> float:
        """The calibrated weight of term ``key``, with ``calibrate`` updated
        from this step while it has seen fewer than its ``steps`` (then
        fixed, and announced in the log)."""
        cal = self.routes[key].calibration
        i = self.calibrated.index(key)
        seen = int(self.calibration_steps[i])
        if calibrate and seen < cal.steps:
            if task_loss is None:
                raise ValueError(
                    f'Loss {key!r} has a Calibrated weight that is not set '
                    "yet: pass the student's task loss (task_loss=...).")
            total = sum(value.values()) if isinstance(value, dict) else value
            estimate = estimate_weight(cal, total, task_loss, gradient)
            if estimate is not None:
                self._add_estimate(i, seen, estimate)
                if seen + 1 == cal.steps:
                    self._announce_calibration(key)
        weight = float(self.calibrated_weights[i])
        return 0.0 if math.isnan(weight) else weight

    def _add_estimate(self, i: int, seen: int, estimate: Estimate) -> None:
        """Fold one step's estimate into the running means of calibrated
        term ``i``, whose weight has seen ``seen`` steps."""
        self.calibrated_weights[i] = running_mean(
            float(self.calibrated_weights[i]), seen, estimate.weight)
        self.calibration_steps[i] += 1
        if estimate.cosine is not None:
            self.calibration_cosines[i] = running_mean(
                float(self.calibration_cosines[i]),
                int(self.calibration_cosine_steps[i]), estimate.cosine)
            self.calibration_cosine_steps[i] += 1

    def _announce_calibration(self, key: str) -> None:
        """Log the weight term ``key`` was just set to; warn when its
        gradient was (nearly) orthogonal to the task loss's or against it
        (``on='grad'``): a term with no pull along the task's, forced to
        the task's scale, can run away with the student."""
        cal = self.routes[key].calibration
        i = self.calibrated.index(key)
        weight = float(self.calibrated_weights[i])
        cosine = float(self.calibration_cosines[i])
        what = 'value' if cal.on == 'value' else 'gradient norm'
        message = (f'[mmseg_kd] Calibrated weight of {key!r} set to '
                   f'{weight:.4g} over {cal.steps} step(s): its {what} is '
                   f'{cal.ratio:g}x the task loss\'s.')
        low = cal.on == 'grad' and not cosine >= LOW_COSINE
        if cal.on == 'grad':
            message += (f' Mean cosine of its gradient with the task loss\'s '
                        f'on the student: {cosine:.3f}.')
        if low:
            message += (
                f' Below {LOW_COSINE:g}: the term pulls (nearly) '
                'orthogonally to the task or against it, and forcing such a '
                "term to the task's scale has collapsed a student "
                '(docs/benchmarks.md, calibration). Prefer a fixed '
                f'loss_weight, or watch kd_cosine/{key} and the val score.')
        print_log(
            message,
            logger='current',
            level=logging.WARNING if low else logging.INFO)

    def _labels_for(self, key: str, student, labels: Optional[Tensor],
                    cache: Dict[tuple, Tensor]) -> Optional[Tensor]:
        """The labels loss ``key`` reads: None, the full-resolution labels,
        or labels nearest-resized to its student tensor (cached by size)."""
        loss = self.losses[key]
        if not loss.uses_labels:
            return None
        if labels is None:
            raise ValueError(f'Loss {key!r} needs ground-truth labels, but '
                             'the batch has no gt_sem_seg.')
        if loss.full_resolution_labels:
            return labels
        first = student if isinstance(student, Tensor) else student[0]
        size = tuple(first.shape[-2:])
        if size not in cache:
            cache[size] = resize_labels(labels, size)
        return cache[size]

    def trainable_losses(self) -> List[str]:
        """Names of loss terms that own trainable parameters."""
        return [k for k, loss in self.losses.items() if loss.trainable]
