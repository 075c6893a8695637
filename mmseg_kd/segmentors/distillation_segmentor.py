# Copyright (c) mmseg_kd contributors. All rights reserved.
import contextlib
import math
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.distributed as dist
from mmengine.logging import MessageHub, print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ..distill.discriminators import DiscriminatorSet
from ..distill.distiller import Distiller
from ..distill.network import forward_network, parts_needed
from ..distill.recorder import TensorRecorder
from ..utils import revert_sync_bn_without_cuda
from .data_preprocessor import (DistillationDataPreprocessor,
                                teacher_preprocessor_cfg)
from .model_loading import load_checkpoint_strict, resolve_model_entry

_PRECISIONS = {
    None: None,
    'fp32': torch.float32,
    'fp16': torch.float16,
    'bf16': torch.bfloat16,
}
_DISTILL_KEYS = {
    'student_tensors', 'teacher_tensors', 'losses', 'connectors',
    'teacher_connectors', 'probe_size', 'nonfinite'
}


@contextlib.contextmanager
def _mmseg_scope():
    """Build mmseg models in the mmseg registry scope when no scope is set
    (outside a runner), as mmseg's own tools do."""
    if DefaultScope.get_current_instance() is not None:
        yield
        return
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


@MODELS.register_module()
class DistillationSegmentor(BaseSegmentor):
    """A frozen teacher and a trainable student, both ordinary mmseg models,
    trained with the student's task loss plus distillation losses on tensors
    recorded from both. Prediction, validation, test and export are the
    student's alone.

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

    The teacher is correct by construction: always in eval mode (BatchNorm,
    Dropout, DropPath), ``requires_grad=False``, run under ``no_grad`` and
    only as far as the recorded tensors need (no teacher loss is computed),
    on inputs made by its own data preprocessor, and loaded strictly on the
    CPU from ``checkpoint``.

    Args:
        teacher (dict): ``dict(config=PATH | model=DICT, checkpoint=None,
            overrides=None, precision=None)``; ``config`` may use the
            ``mmseg::`` scheme; ``overrides`` is merged into the model config
            (e.g. ``dict(decode_head=dict(num_classes=11))``); ``precision``
            ``'fp32'``, ``'bf16'`` or ``'fp16'`` runs the teacher under that
            autocast dtype (None: whatever autocast the student runs under).
            A bare model dict (with ``type``) is accepted too.
        student (dict): Same form, without ``precision``; its ``checkpoint``
            (optional) is loaded strictly and survives ``init_weights``.
        distill (dict): ``student_tensors`` and ``teacher_tensors`` (name to
            :class:`TensorSpec`), ``losses`` (see :class:`Distiller`),
            optional ``connectors``/``teacher_connectors``, ``probe_size``
            (H, W) of the dummy input used once at build time to size the
            connectors and check every pairing (default (128, 128)), and
            ``nonfinite``: ``'raise'`` (default) or ``'skip'`` what to do
            when a loss term is NaN/Inf (decided together by all ranks).
        data_preprocessor (dict, optional): Must be None: the student's and
            teacher's own preprocessors are used.
        init_cfg (dict, optional): Unused beyond mmengine's conventions.
    """

    def __init__(self,
                 teacher: dict,
                 student: dict,
                 distill: dict,
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
        self.nonfinite = distill.get('nonfinite', 'raise')
        if self.nonfinite not in ('raise', 'skip'):
            raise ValueError("distill.nonfinite must be 'raise' or 'skip'.")

        self._local_iter = 0
        self._skip_update = False
        self._in_train_step = False
        with _mmseg_scope():
            self._build(teacher, student, distill)

    def _build(self, teacher: dict, student: dict, distill: dict) -> None:
        student_cfg, student_opts = resolve_model_entry(student, 'student')
        teacher_cfg, teacher_opts = resolve_model_entry(teacher, 'teacher')
        precision = teacher_opts['precision']
        if precision not in _PRECISIONS:
            raise ValueError(f'teacher precision must be one of '
                             f"{[p for p in _PRECISIONS if p]} or None, got "
                             f'{precision!r}.')
        self.teacher_precision = precision

        #: the resolved student model config (for export)
        self.student_cfg = student_cfg.to_dict()
        self.student = revert_sync_bn_without_cuda(
            MODELS.build(student_cfg), 'student')
        # a student checkpoint (e.g. a model trained alone) is loaded now,
        # strictly, and again after init_weights(), which would otherwise
        # overwrite it with the student's own initialisation
        self._student_checkpoint = student_opts['checkpoint']
        if self._student_checkpoint:
            load_checkpoint_strict(self.student, self._student_checkpoint,
                                   role='student')
        teacher_model = revert_sync_bn_without_cuda(
            MODELS.build(teacher_cfg), 'teacher')
        if teacher_opts['checkpoint']:
            load_checkpoint_strict(teacher_model, teacher_opts['checkpoint'])
        else:
            print_log(
                '[mmseg_kd] The teacher has no checkpoint: it keeps its '
                'random initialisation. Set teacher=dict(..., checkpoint=...) '
                'for a real distillation.',
                logger='current',
                level=30)
        teacher_model.requires_grad_(False)
        teacher_model.eval()
        self.teacher = teacher_model

        for side in ('student_tensors', 'teacher_tensors'):
            if not distill.get(side):
                raise KeyError(f'`distill.{side}` is missing or empty: name '
                               'the tensors to record, e.g. '
                               "dict(logits='decode_head.conv_seg').")
            for name in distill[side]:
                if not str(name).isidentifier():
                    raise ValueError(f'Tensor name {name!r} in distill.{side}'
                                     ' must be a Python identifier.')
        self.student_recorder = TensorRecorder(
            self.student, distill['student_tensors'], owner='student')
        self.teacher_recorder = TensorRecorder(
            self.teacher,
            distill['teacher_tensors'],
            owner='teacher',
            stop_when_complete=True)
        self._teacher_parts = parts_needed(
            s.path for s in self.teacher_recorder.specs.values())
        student_probe, teacher_probe = self._probe(
            tuple(distill.get('probe_size', (128, 128))))
        self.distiller = Distiller(
            losses=distill['losses'],
            student_probe=student_probe,
            teacher_probe=teacher_probe,
            connectors=distill.get('connectors'),
            teacher_connectors=distill.get('teacher_connectors'))

        self.discriminator = self._build_discriminators()
        self._exclude_memories_from_ddp()

        tpp_cfg = teacher_preprocessor_cfg(
            teacher_cfg.get('data_preprocessor'),
            student_cfg.get('data_preprocessor'))
        self.data_preprocessor = DistillationDataPreprocessor(
            student=self.student.data_preprocessor,
            teacher=MODELS.build(tpp_cfg) if tpp_cfg else None)

    # ------------------------------------------------------------ building
    def _probe(self, size: Tuple[int, int]):
        """Record every tensor once on a dummy batch (eval mode, no grad):
        finds shapes for connectors and checks that each hooked module runs,
        so mistakes surface when the model is built."""
        gen = torch.Generator().manual_seed(0)
        dummy = torch.randn((1, 3) + tuple(size), generator=gen)
        modes = [(m, m.training) for m in (self.student, self.teacher)]
        student_parts = parts_needed(
            s.path for s in self.student_recorder.specs.values())
        try:
            self.student.eval()
            with torch.no_grad():
                _, t = self.teacher_recorder.run(lambda: forward_network(
                    self.teacher, dummy, self._teacher_parts))
                _, s = self.student_recorder.run(lambda: forward_network(
                    self.student, dummy, student_parts))
        finally:
            for module, mode in modes:
                module.train(mode)
        return s, t

    def _build_discriminators(self) -> Optional[DiscriminatorSet]:
        """One discriminator per adversarial loss, its input channels taken
        from the probed student tensor; None without adversarial losses."""
        losses = {
            key: loss
            for key, loss in self.distiller.losses.items()
            if getattr(loss, 'is_adversarial', False)
        }
        if not losses:
            return None
        nets = {}
        for key, loss in losses.items():
            cfg = dict(loss.discriminator_cfg)
            shape = self.distiller.student_shapes[
                self.distiller.routes[key].student]
            extra = 3 if cfg.get('preprocess') == 'softmax_image' else 0
            cfg.setdefault('in_channels', shape[1] + extra)
            nets[key] = MODELS.build(cfg)
            loss.attach(nets[key])
        return DiscriminatorSet(nets, losses)

    def _exclude_memories_from_ddp(self) -> None:
        """Buffers that losses keep identical on every rank themselves
        (CIRKD's queues) must not be broadcast by DDP: name them in DDP's
        ignore list, for a DDP around the whole model and around the
        distiller alone (MMSeparateDistributedDataParallel)."""
        names = [
            f'losses.{key}.{buf}'
            for key, loss in self.distiller.losses.items()
            for buf in getattr(loss, 'ddp_ignore_buffers', ())
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
        return _unwrap(self.student)

    def train(self, mode: bool = True) -> 'DistillationSegmentor':
        """Set train/eval mode; the teacher stays in eval mode always."""
        super().train(mode)
        self.teacher.eval()
        return self

    def init_weights(self) -> None:
        """Initialise the student (then load its checkpoint, when one is
        given), the distiller and the discriminator; never the teacher,
        whose weights come from its checkpoint."""
        parts = [self.student_model, _unwrap(self.distiller)]
        if self.discriminator is not None:
            parts.append(_unwrap(self.discriminator))
        for part in parts:
            if hasattr(part, 'init_weights'):
                part.init_weights()
        if self._student_checkpoint:
            load_checkpoint_strict(self.student_model,
                                   self._student_checkpoint, role='student')
        self._is_init = True

    # ---------------------------------------------------- student delegation
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.student_model.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]):
        return self.student_model.encode_decode(inputs, batch_img_metas)

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        return self.student_model.predict(inputs, data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        return self.student_model._forward(inputs, data_samples)

    def forward(self,
                inputs: Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor',
                teacher_inputs: Optional[Tensor] = None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, teacher_inputs)
        return super().forward(inputs, data_samples, mode)

    # ------------------------------------------------------------ training
    def current_iteration(self) -> int:
        """The runner's iteration (exact across resume), or a local counter
        when the model is used outside a runner."""
        it = MessageHub.get_current_instance().get_info('iter')
        return self._local_iter if it is None else int(it)

    def teacher_forward(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Run the teacher, without gradient and only as far as needed, and
        return its recorded tensors."""
        dtype = _PRECISIONS[self.teacher_precision]
        if dtype is None:
            ctx = contextlib.nullcontext()
        else:
            ctx = torch.autocast(
                device_type=inputs.device.type,
                dtype=dtype,
                enabled=dtype is not torch.float32)
        with torch.no_grad(), ctx:
            _, records = self.teacher_recorder.run(lambda: forward_network(
                self.teacher, inputs, self._teacher_parts))
        return records

    def loss(self,
             inputs: Tensor,
             data_samples: SampleList,
             teacher_inputs: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Student task losses plus every distillation term, by name."""
        if self.discriminator is not None and not self._in_train_step and \
                torch.is_grad_enabled():
            raise RuntimeError(
                'This model has adversarial losses: their discriminator is '
                'trained in DistillationSegmentor.train_step, which a plain '
                'DDP wrapper bypasses. Use model_wrapper_cfg=dict(type='
                "'MMSeparateDistributedDataParallel') (the distillation "
                'runtime base does).')
        iteration = self.current_iteration()
        self._local_iter += 1
        teacher_records = self.teacher_forward(
            inputs if teacher_inputs is None else teacher_inputs)
        task_losses, student_records = self.student_recorder.run(
            lambda: self.student(inputs, data_samples, mode='loss'))
        labels = None
        if self.distiller_module.uses_labels:
            labels = torch.stack(
                [s.gt_sem_seg.data for s in data_samples])[:, 0].long()
        terms = self.distiller(student_records, teacher_records, labels,
                               iteration)
        clash = set(terms) & set(task_losses)
        if clash:
            raise KeyError(f'Distillation loss names {sorted(clash)} clash '
                           "with the student's own loss names; rename them.")
        losses = dict(task_losses)
        losses.update(terms)
        self._check_finite(terms, iteration)
        return losses

    @property
    def distiller_module(self) -> Distiller:
        return _unwrap(self.distiller)

    def _check_finite(self, terms: Dict[str, Tensor], iteration: int) -> None:
        """Non-finite guard: one device sync for all terms."""
        self._skip_update = False
        if not terms:
            return
        stacked = torch.stack([v.detach().float() for v in terms.values()])
        bad_here = (~torch.isfinite(stacked)).any().float().reshape(1)
        if dist.is_available() and dist.is_initialized() and \
                dist.get_world_size() > 1:
            # every rank must take the same decision, or DDP deadlocks
            dist.all_reduce(bad_here, op=dist.ReduceOp.MAX)
        if not bool(bad_here):
            return
        floats = {k: float(v.detach()) for k, v in terms.items()}
        bad = [k for k, v in floats.items() if not math.isfinite(v)]
        if bad:
            msg = (f'Distillation term(s) {bad} became non-finite at '
                   f'iteration {iteration} (values: ' +
                   ', '.join(f'{k}={floats[k]}' for k in bad) + ').')
        else:
            msg = ('A distillation term became non-finite on another rank '
                   f'at iteration {iteration}.')
        if self.nonfinite == 'skip':
            self._skip_update = True
            print_log(f'[mmseg_kd] {msg} Skipping this update.',
                      logger='current', level=30)
            return
        raise FloatingPointError(
            msg + ' Usual causes: a learning rate or loss_weight too high, '
            'fp16 overflow (try bf16, or teacher precision fp32), or a '
            "feature loss on unnormalised features. Set distill.nonfinite="
            "'skip' to skip such steps instead of stopping.")

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: Union[OptimWrapper, OptimWrapperDict]
                   ) -> Dict[str, Tensor]:
        """One training step: student update with task + distillation
        losses. Used directly in single-process training and through
        ``MMSeparateDistributedDataParallel`` under DDP.

        Args:
            data: A batch from the dataloader.
            optim_wrapper: The student's optim wrapper, or an
                ``OptimWrapperDict`` with a ``student`` entry.

        Returns:
            dict: Log variables.
        """
        student_ow, disc_ow = self._optim_wrappers(optim_wrapper)
        self._in_train_step = True
        try:
            with student_ow.optim_context(self):
                data = self.data_preprocessor(data, True)
                losses = self._run_forward(data, mode='loss')
        finally:
            self._in_train_step = False
        parsed, log_vars = self.parse_losses(losses)
        if self._skip_update:
            student_ow.zero_grad()
            self.distiller_module.pop_adversarial_inputs()
            log_vars['skipped_step'] = torch.ones((), device=parsed.device)
            return log_vars
        student_ow.update_params(parsed)
        if disc_ow is not None:
            log_vars.update(self._discriminator_step(disc_ow))
        return log_vars

    def _optim_wrappers(self, optim_wrapper):
        """(student wrapper, discriminator wrapper or None)."""
        if isinstance(optim_wrapper, OptimWrapperDict):
            if 'student' not in optim_wrapper:
                raise KeyError(
                    'With several optimizers, optim_wrapper needs a '
                    f"'student' entry; got {list(optim_wrapper.keys())}.")
            student_ow = optim_wrapper['student']
            disc_ow = optim_wrapper.optim_wrappers.get('discriminator')
        else:
            student_ow, disc_ow = optim_wrapper, None
        if self.discriminator is not None and disc_ow is None:
            raise KeyError(
                'This model has a discriminator, which needs its own '
                "optimizer: give optim_wrapper a 'discriminator' entry (with "
                "constructor='DistillationOptimWrapperConstructor').")
        return student_ow, disc_ow

    def _discriminator_step(self, disc_ow: OptimWrapper) -> Dict[str, Tensor]:
        """One update of the discriminators on the detached maps of the
        student step that just ran (SKD's alternating schedule)."""
        inputs = self.distiller_module.pop_adversarial_inputs()
        if not inputs:  # every adversarial term is scheduled off
            return {}
        with disc_ow.optim_context(self.discriminator):
            terms = self.discriminator(inputs)
        total = sum(terms.values())
        disc_ow.update_params(total)
        return {k: v.detach() for k, v in terms.items()}
