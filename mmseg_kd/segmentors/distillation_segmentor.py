# Copyright (c) mmseg_kd contributors. All rights reserved.
from functools import partial
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ForwardResults, OptSampleList, SampleList
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..distill.calibration import flat_gradient
from ..distill.discriminators import DiscriminatorSet
from ..distill.distiller import Distiller, DistillOutput
from ..distill.network import forward_network, parts_needed
from ..distill.recorder import TensorRecorder
from ..utils import (frozen, load_checkpoint_strict, mmseg_scope,
                     revert_unusable_sync_bn, unwrap)
from .checkpoint_keys import check_distillation_keys, plain_keys
from .data_preprocessor import (DistillationDataPreprocessor,
                                teacher_preprocessor_cfg)
from .frozen_teacher import FrozenTeacher, TeacherGroup
from .model_loading import resolve_model_entry
from .monitor import TrainingMonitor
from .nonfinite_guard import NonFiniteGuard

_DISTILL_KEYS = {
    'student_tensors', 'teacher_tensors', 'losses', 'connectors',
    'teacher_connectors', 'teacher_ensembles', 'probe_size', 'nonfinite',
    'max_skipped_steps', 'monitor'
}


def _check_tensor_names(tensors, where: str) -> None:
    if not tensors:
        raise KeyError(f'`distill.{where}` is missing or empty: name the '
                       "tensors to record, e.g. "
                       "dict(logits='decode_head.conv_seg').")
    for name in tensors:
        if not str(name).isidentifier():
            raise ValueError(f'Tensor name {name!r} in distill.{where} must '
                             'be a Python identifier.')


def current_iteration() -> int:
    """The runner's iteration (0-based; restored on resume), or 0 outside a
    runner."""
    it = MessageHub.get_current_instance().get_info('iter')
    return 0 if it is None else int(it)


class DistillStep(NamedTuple):
    """One forward of the training path (see
    :meth:`DistillationSegmentor.distill_step`).

    Attributes:
        task_losses (dict): The student's own losses.
        distill (DistillOutput): The distillation terms and what the
            distiller computed on the way (connected tensors, schedule
            factors, the critics' inputs).
        student_records (dict): The student's recorded tensors, as recorded.
        teacher_records (dict): The teacher's recorded tensors.
        task_total (Tensor): The sum of the student's own loss terms.
        labels (Tensor): (B, H, W) ground truth of the batch.
    """
    task_losses: Dict[str, Tensor]
    distill: DistillOutput
    student_records: Dict[str, Tensor]
    teacher_records: Dict[str, Tensor]
    task_total: Tensor
    labels: Tensor

    @property
    def losses(self) -> Dict[str, Tensor]:
        """Task losses and distillation terms in one dict, by name."""
        clash = set(self.distill.terms) & set(self.task_losses)
        if clash:
            raise KeyError(f'Distillation loss names {sorted(clash)} clash '
                           "with the student's own loss names; rename them.")
        return {**self.task_losses, **self.distill.terms}


@MODELS.register_module()
class DistillationSegmentor(BaseSegmentor):
    """A frozen teacher and a trainable student, both ordinary mmseg models,
    trained with the student's task loss plus distillation losses on tensors
    recorded from both. Prediction, validation, test and export are the
    student's alone.

    One training step (:meth:`train_step`) is one straight pipeline::

        raw batch
          -> DistillationDataPreprocessor -> inputs, data_samples,
                                             teacher_inputs
          -> FrozenTeacher(s)(inputs, teacher_inputs)
                                            -> teacher tensors (no grad)
          -> student(inputs, data_samples, mode='loss'), recorded
                                            -> task losses, student tensors
          -> Distiller(student tensors, teacher tensors, labels, iteration,
                       critics frozen)      -> DistillOutput (terms, ...)
          -> non-finite guard               -> skip the update, or:
          -> student update (task losses + terms)
          -> critic update on DistillOutput.adversarial (own optimizer)

    Example::

        model = dict(
            type='DistillationSegmentor',
            teacher=dict(config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_'
                                'cityscapes-512x1024.py',
                         checkpoint='checkpoints/pspnet_r101.pth'),
            student=dict(config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_'
                                'cityscapes-512x1024.py'),
            distill=dict(
                student_tensors=dict(logits='decode_head.conv_seg'),
                teacher_tensors=dict(logits='decode_head.conv_seg'),
                losses=dict(loss_cwd=dict(type='ChannelWiseDivergence',
                                          student='logits', teacher='logits',
                                          tau=4.0, loss_weight=3.0))))

    Args:
        teacher (dict): ``dict(config=PATH | model=DICT, checkpoint=None,
            overrides=None, precision=None)``; ``config`` may use the
            ``mmseg::`` scheme; ``overrides`` is merged into the model config
            (e.g. ``dict(decode_head=dict(num_classes=11))``); ``precision``
            ``'fp32'``, ``'bf16'`` or ``'fp16'`` runs the teacher under that
            autocast dtype (None: whatever autocast the student runs under).
            A bare model dict (with ``type``) is accepted too. See
            :class:`FrozenTeacher`.
        student (dict): Same form, without ``precision``; its ``checkpoint``
            (optional) is loaded strictly and survives ``init_weights``.
        teachers (dict, optional): Several teachers instead of ``teacher``:
            name to an entry of the same form (each with its own
            checkpoint, precision and preprocessing). Their tensors are
            then declared per teacher,
            ``teacher_tensors=dict(seg_b3=dict(logits=...), ...)``, and
            named ``'seg_b3.logits'`` in the losses;
            ``distill.teacher_ensembles`` combines them (e.g.
            ``MeanTeacherProbabilities``).
        distill (dict): ``student_tensors`` and ``teacher_tensors`` (name to
            :class:`TensorSpec`), ``losses`` (see :class:`Distiller`),
            optional ``connectors``/``teacher_connectors``, ``probe_size``
            (H, W) of the dummy input used once at build time to size the
            connectors and check every pairing (default (128, 128)),
            ``nonfinite``: ``'raise'`` (default) or ``'skip'`` what to do
            when a loss term is NaN/Inf (decided together by all ranks), and
            ``max_skipped_steps`` (default 20): with ``'skip'``, how many
            consecutive skipped steps stop the run; ``monitor`` (see
            :class:`TrainingMonitor`), e.g.
            ``dict(grad_cosine_interval=500)``.
        data_preprocessor (dict, optional): Must be None: the student's and
            teacher's own preprocessors are used.
        init_cfg (dict, optional): Unused beyond mmengine's conventions.
    """

    def __init__(self,
                 student: dict,
                 distill: dict,
                 teacher: Optional[dict] = None,
                 teachers: Optional[Dict[str, dict]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is not None:
            raise ValueError(
                'DistillationSegmentor takes no data_preprocessor: the '
                "student's and the teacher's own are used. Remove "
                '`model.data_preprocessor` (set it in the student/teacher '
                'model configs instead).')
        super().__init__(init_cfg=init_cfg)
        distill = dict(distill)
        unknown = set(distill) - _DISTILL_KEYS
        if unknown:
            raise KeyError(f'`distill` has unknown keys {sorted(unknown)}; '
                           f'allowed: {sorted(_DISTILL_KEYS)}.')
        self.nonfinite_guard = NonFiniteGuard(
            distill.get('nonfinite', 'raise'),
            distill.get('max_skipped_steps', 20))
        if (teacher is None) == (teachers is None):
            raise KeyError(
                'Give exactly one of teacher=dict(config=..., checkpoint=...) '
                'or, for several, teachers=dict(name=dict(config=..., '
                'checkpoint=...), ...).')
        with mmseg_scope():
            self._build(student, distill, teacher, teachers)
        self.register_state_dict_post_hook(plain_keys)
        self.register_load_state_dict_pre_hook(check_distillation_keys)

    def _build(self, student: dict, distill: dict, teacher: Optional[dict],
               teachers: Optional[Dict[str, dict]]) -> None:
        student_cfg, student_opts = resolve_model_entry(student, 'student')
        _check_tensor_names(distill.get('student_tensors'), 'student_tensors')
        teacher_tensors = distill.get('teacher_tensors')
        if teachers is None:
            _check_tensor_names(teacher_tensors, 'teacher_tensors')
            teacher_tensors = dict(teacher=teacher_tensors)
            teachers = dict(teacher=teacher)
        else:
            if not isinstance(teacher_tensors,
                              dict) or set(teacher_tensors) != set(teachers):
                raise KeyError(
                    'With teachers=, distill.teacher_tensors names each '
                    'teacher\'s tensors: teacher_tensors=dict(' +
                    ', '.join(f'{n}=dict(logits=...)' for n in teachers) +
                    f'); got keys {sorted(teacher_tensors or {})}.')
            for name, tensors in teacher_tensors.items():
                _check_tensor_names(tensors, f'teacher_tensors.{name}')

        #: the resolved student model config (for export)
        self.student_cfg = student_cfg.to_dict()
        self.student = revert_unusable_sync_bn(
            MODELS.build(student_cfg), 'student')
        #: the student's own checkpoint (e.g. a model trained alone), or
        #: None: loaded now, strictly, and again after init_weights(), which
        #: would otherwise overwrite it with the student's initialisation
        self.student_checkpoint: Optional[str] = student_opts['checkpoint']
        if self.student_checkpoint:
            load_checkpoint_strict(
                self.student, self.student_checkpoint, role='student')
        frozen_teachers, preprocessors = {}, {}
        for name, entry in teachers.items():
            frozen_teachers[name], preprocessors[name] = self._build_teacher(
                name, entry, teacher_tensors[name],
                student_cfg.get('data_preprocessor'))
        #: one FrozenTeacher, or a TeacherGroup of several
        self.teacher = frozen_teachers['teacher'] if teacher else \
            TeacherGroup(frozen_teachers)
        self.student_recorder = TensorRecorder(
            self.student, distill['student_tensors'], owner='student')

        student_probe, teacher_probe = self._probe(
            tuple(distill.get('probe_size', (128, 128))))
        self.distiller = Distiller(
            losses=distill['losses'],
            student_probe=student_probe,
            teacher_probe=teacher_probe,
            connectors=distill.get('connectors'),
            teacher_connectors=distill.get('teacher_connectors'),
            teacher_ensembles=distill.get('teacher_ensembles'))
        # the agreement leaves out the pixels the student's own loss ignores
        head = self.student.decode_head
        head = head[-1] if isinstance(head, nn.ModuleList) else head
        self.monitor = TrainingMonitor(
            self._logit_terms(),
            **dict(
                dict(ignore_index=head.ignore_index),
                **(distill.get('monitor') or {})))
        self.discriminator = self._build_critics()
        self._exclude_loss_buffers_from_ddp()

        self.data_preprocessor = DistillationDataPreprocessor(
            student=self.student.data_preprocessor,
            teachers={
                k: v
                for k, v in preprocessors.items() if v
            })

    @staticmethod
    def _build_teacher(name: str, entry: dict, tensors: dict,
                       student_preprocessor: Optional[dict]):
        """A FrozenTeacher and, when its normalisation differs from the
        student's, its own preprocessor (else None)."""
        cfg, opts = resolve_model_entry(entry, name)
        teacher = FrozenTeacher(
            revert_unusable_sync_bn(MODELS.build(cfg), name),
            tensors,
            checkpoint=opts['checkpoint'],
            precision=opts['precision'],
            name=name)
        preprocessor = teacher_preprocessor_cfg(
            cfg.get('data_preprocessor'), student_preprocessor)
        return teacher, MODELS.build(preprocessor) if preprocessor else None

    # ------------------------------------------------------------ building
    def _probe(self, size: Tuple[int, int]):
        """Record every tensor once on a dummy batch (eval mode, no grad):
        finds shapes for connectors and checks that each hooked module runs,
        so mistakes surface when the model is built."""
        gen = torch.Generator().manual_seed(0)
        dummy = torch.randn((1, 3) + tuple(size), generator=gen)
        mode = self.student.training
        student_parts = parts_needed(
            s.path for s in self.student_recorder.specs.values())
        try:
            self.student.eval()
            with torch.no_grad():
                teacher = self.teacher(dummy)
                _, student = self.student_recorder.run(lambda: forward_network(
                    self.student, dummy, student_parts))
        finally:
            self.student.train(mode)
        return student, teacher

    def _logit_terms(self) -> Dict[str, tuple]:
        """Term name to (student, teacher) tensor for the terms between
        logits (the classifiers' outputs, ``conv_seg``)."""

        def logits(specs) -> set:
            return {
                name
                for name, spec in specs.items()
                if spec.path.endswith('conv_seg') and spec.side == 'output'
                and spec.index is None
            }

        return self.distiller_module.logit_terms(
            logits(self.student_recorder.specs), logits(self.teacher.specs))

    def _build_critics(self) -> Optional[DiscriminatorSet]:
        """The adversarial losses' critics, or None without any."""
        critics = self.distiller_module.build_critics()
        return DiscriminatorSet(critics) if critics else None

    def _exclude_loss_buffers_from_ddp(self) -> None:
        """Buffers that losses keep identical on every rank themselves
        (CIRKD's queues) must not be broadcast by DDP: name them in DDP's
        ignore list, for a DDP around the whole model and around the
        distiller alone (MMSeparateDistributedDataParallel)."""
        names = [
            f'losses.{key}.{buf}'
            for key, loss in self.distiller.losses.items()
            for buf in loss.ddp_ignore_buffers
        ]
        if names:
            ignore = DistributedDataParallel.\
                _set_params_and_buffers_to_ignore_for_model
            ignore(self.distiller, names)
            ignore(self, [f'distiller.{n}' for n in names])

    # ---------------------------------------------------------- properties
    @property
    def student_model(self) -> nn.Module:
        """The student, unwrapped from any DDP wrapper."""
        return unwrap(self.student)

    @property
    def distiller_module(self) -> Distiller:
        """The distiller, unwrapped from any DDP wrapper."""
        return unwrap(self.distiller)

    def init_weights(self) -> None:
        """Initialise the student (then load its checkpoint, when one is
        given), the distiller and the critics; never the teacher, whose
        weights come from its checkpoint."""
        parts = [self.student_model, self.distiller_module]
        if self.discriminator is not None:
            parts.append(unwrap(self.discriminator))
        for part in parts:  # each an mmengine BaseModule
            part.init_weights()
        if self.student_checkpoint:
            load_checkpoint_strict(
                self.student_model, self.student_checkpoint, role='student')
        self.is_init = True

    # ---------------------------------------------------- student delegation
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Extract features with the student (delegates to it).

        Args:
            inputs (Tensor): (B, C, H, W) input images.

        Returns:
            list[Tensor]: The student's multi-level features.
        """
        return self.student_model.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Encode images and decode them into segmentation logits with the
        student (delegates to it).

        Args:
            inputs (Tensor): (B, C, H, W) input images.
            batch_img_metas (list[dict]): Meta information of each image.

        Returns:
            Tensor: The student's segmentation logits at input size.
        """
        return self.student_model.encode_decode(inputs, batch_img_metas)

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict with the student (delegates to it).

        Args:
            inputs (Tensor): (B, C, H, W) input images.
            data_samples (list[SegDataSample], optional): The batch's data
                samples (meta information, ground truth). Defaults to None.

        Returns:
            list[SegDataSample]: The student's segmentation results.
        """
        return self.student_model.predict(inputs, data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """The student's plain network forward, without post-processing
        (delegates to it).

        Args:
            inputs (Tensor): (B, C, H, W) input images.
            data_samples (list[SegDataSample], optional): The batch's data
                samples. Defaults to None.

        Returns:
            Tensor: The student's raw output.
        """
        return self.student_model(inputs, data_samples, mode='tensor')

    def forward(
            self,
            inputs: Tensor,
            data_samples: OptSampleList = None,
            mode: str = 'tensor',
            teacher_inputs: Optional[Dict[str,
                                          Tensor]] = None) -> ForwardResults:
        """The entry point of the runner: ``'loss'`` runs the distillation
        step (:meth:`loss`), ``'predict'`` and ``'tensor'`` delegate to the
        student (as :meth:`BaseSegmentor.forward` dispatches them).

        Args:
            inputs (Tensor): (B, C, H, W) student input images.
            data_samples (list[SegDataSample], optional): The batch's data
                samples. Defaults to None.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``. Defaults
                to ``'tensor'``.
            teacher_inputs (dict[str, Tensor], optional): Teacher name to
                its own preprocessed inputs (``'loss'`` mode only), for the
                teachers whose normalisation differs from the student's.

        Returns:
            dict[str, Tensor] | list[SegDataSample] | Tensor: The losses in
            ``'loss'`` mode, the student's predictions in ``'predict'``
            mode, its raw output in ``'tensor'`` mode.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher_inputs)
        return super().forward(inputs, data_samples, mode)

    # ------------------------------------------------------------ training
    def distill_step(self,
                     inputs: Tensor,
                     data_samples: SampleList,
                     teacher_inputs: Optional[Dict[str, Tensor]] = None,
                     iteration: int = 0,
                     calibrate: bool = True) -> DistillStep:
        """The forward of the training path: teacher, student and
        distiller, with the critics frozen.

        Args:
            inputs (Tensor): The student's preprocessed images.
            data_samples (list): With ``gt_sem_seg``.
            teacher_inputs (dict, optional): Teacher name to the images made
                by its own preprocessor (teachers not named use ``inputs``).
            iteration (int): The training iteration (0-based).
            calibrate (bool): Whether Calibrated weights still being set
                learn from this step (False in evaluation). Defaults to
                True.

        Returns:
            DistillStep: Everything the step computed.
        """
        teacher_records = self.teacher(inputs, teacher_inputs)
        task_losses, student_records = self.student_recorder.run(
            lambda: self.student(inputs, data_samples, mode='loss'))
        task_total = sum(v.sum() for k, v in task_losses.items()
                         if 'loss' in k)
        labels = torch.stack([s.gt_sem_seg.data
                              for s in data_samples])[:, 0].long()
        critics = None if self.discriminator is None else unwrap(
            self.discriminator).critics
        gradient = partial(flat_gradient, params=self._student_params()) \
            if torch.is_grad_enabled() else None
        with frozen(critics):
            out = self.distiller(student_records, teacher_records, labels,
                                 iteration, critics, task_total, gradient,
                                 calibrate)
        return DistillStep(task_losses, out, student_records, teacher_records,
                           task_total, labels)

    def _student_params(self) -> List[Tensor]:
        return [p for p in self.student_model.parameters() if p.requires_grad]

    def loss(
        self,
        inputs: Tensor,
        data_samples: SampleList,
        teacher_inputs: Optional[Dict[str,
                                      Tensor]] = None) -> Dict[str, Tensor]:
        """Student task losses plus every distillation term, by name (the
        mmseg API), for evaluation under ``torch.no_grad()``.

        Training goes through :meth:`train_step`: its non-finite guard,
        monitor scalars and critic updates are part of the step. A plain
        DDP wrapper would call this method instead and silently skip them,
        so with gradients enabled it refuses, naming the wrapper to use.
        Calibrated weights are read, never set, here (one not set yet
        counts 0).
        """
        if torch.is_grad_enabled():
            raise RuntimeError(
                'DistillationSegmentor trains through its train_step (the '
                'non-finite guard, the monitor and, with adversarial losses, '
                'the critics\' updates), which a plain DDP wrapper '
                'bypasses by calling forward(mode="loss"). Use '
                'model_wrapper_cfg=dict(type='
                "'MMSeparateDistributedDataParallel') (the distillation "
                'runtime base does), or call loss() under '
                'torch.no_grad() to evaluate the terms.')
        return self.distill_step(
            inputs,
            data_samples,
            teacher_inputs,
            current_iteration(),
            calibrate=False).losses

    def train_step(
        self, data: Union[dict, tuple, list],
        optim_wrapper: Union[OptimWrapper,
                             OptimWrapperDict]) -> Dict[str, Tensor]:
        """One training step: the pipeline drawn in the class docstring.
        Used directly in single-process training and through
        ``MMSeparateDistributedDataParallel`` under DDP.

        Args:
            data: A batch from the dataloader.
            optim_wrapper: The student's optim wrapper, or an
                ``OptimWrapperDict`` with a ``student`` (and, with
                adversarial losses, a ``discriminator``) entry.

        Returns:
            dict: Log variables.
        """
        student_ow, critic_ow = self._optim_wrappers(optim_wrapper)
        iteration = current_iteration()
        # no_sync of the DDP-wrapped student when accumulating gradients
        with student_ow.optim_context(self.student):
            batch = self.data_preprocessor(data, True)
            step = self.distill_step(batch['inputs'], batch['data_samples'],
                                     batch.get('teacher_inputs'), iteration)
        total, log_vars = self.parse_losses(step.losses)
        # every term of the sum (task and distillation), as parse_losses
        # summed them
        summed = {
            k: v
            for k, v in log_vars.items() if 'loss' in k and k != 'loss'
        }
        log_vars.update(
            self.monitor.scalars(step.distill, step.task_total, step.labels,
                                 iteration, self._student_params()))
        if self.nonfinite_guard(summed, iteration):
            student_ow.zero_grad()
            log_vars['skipped_step'] = torch.ones((), device=total.device)
            return log_vars
        student_ow.update_params(total)
        if critic_ow is not None and step.distill.adversarial:
            log_vars.update(
                self.critic_step(step.distill.adversarial, critic_ow))
        return log_vars

    def critic_step(self, inputs: dict,
                    optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One update of the critics on the detached maps of the student
        step that just ran (SKD's alternating schedule).

        Returns:
            dict: The critics' terms, detached, for the log.
        """
        with optim_wrapper.optim_context(self.discriminator):
            terms = self.discriminator(inputs)
        optim_wrapper.update_params(sum(terms.values()))
        return {k: v.detach() for k, v in terms.items()}

    def _optim_wrappers(self, optim_wrapper):
        """(student wrapper, critics' wrapper or None)."""
        if isinstance(optim_wrapper, OptimWrapperDict):
            if 'student' not in optim_wrapper:
                raise KeyError(
                    'With several optimizers, optim_wrapper needs a '
                    f"'student' entry; got {list(optim_wrapper.keys())}.")
            student_ow = optim_wrapper['student']
            critic_ow = optim_wrapper.optim_wrappers.get('discriminator')
        else:
            student_ow, critic_ow = optim_wrapper, None
        if self.discriminator is not None and critic_ow is None:
            raise KeyError(
                'This model has a discriminator, which needs its own '
                "optimizer: give optim_wrapper a 'discriminator' entry (with "
                "constructor='DistillationOptimWrapperConstructor').")
        return student_ow, critic_ow
