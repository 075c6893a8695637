# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.dist import get_world_size
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..utils.distributed import gather_rows
from ..utils.random_state import CheckpointedGenerator
from .base import DistillLoss
from .relation_kl import chunked_relation_kl
from .utils import check_labels, check_same_spatial, valid_mask


def memory_contrast_kl(student_anchors: Tensor, teacher_anchors: Tensor,
                       keys: Tensor, tau: float, kd_tau: float,
                       chunk: Optional[int]) -> Tensor:
    """T^2 * mean over anchors v of KL(softmax(t_v K^T / tau / T) ||
    softmax(s_v K^T / tau / T)): CIRKD's memory term for one key set."""
    rows = student_anchors.shape[0]
    return chunked_relation_kl(
        student_anchors,
        keys,
        teacher_anchors,
        keys,
        tau,
        kappa=kd_tau,
        scale=kd_tau**2 / rows,
        chunk=chunk)


@MODELS.register_module()
class CIRKDMemoryLoss(DistillLoss):
    """CIRKD memory-based pixel-to-pixel and pixel-to-region distillation
    (Yang et al., CVPR 2022, ``StudentSegContrast`` of the reference).

    Teacher features (L2-normalised per pixel) are enqueued into per-class
    memories: a pixel queue (K x M_p x C_t, ``pixels_per_class`` pixels of
    each class of each image per step) and a region queue (K x M_r x C_t,
    the normalised class mean of each image). Each step samples
    ``num_pixel_keys // K + 1`` pixel keys and ``num_region_keys // K + 1``
    region keys per class (the same slots for every class). For every
    non-ignored pixel v (anchor), with the student feature projected by a
    head P (1x1 conv, norm, ReLU, 1x1 conv) to C_t and L2-normalised:

    .. math::
        L_{X} = T^2 \\frac{1}{|V|} \\sum_v KL(
            \\mathrm{softmax}(\\hat t_v X^T / \\tau_c / T) \\|
            \\mathrm{softmax}(\\hat s_v X^T / \\tau_c / T))

    for the pixel keys (term ``pixel``) and the region keys (``region``).
    Returned as two terms, weighted by ``pixel_weight`` and
    ``region_weight`` (CIRKD: 0.1 each; 0.01 on VOC).

    The enqueue happens before the sampling and before the early exit of
    an all-ignore batch (which gives a zero connected to the graph).
    Teacher features and labels are gathered from every rank before the
    enqueue (only when a process group with several ranks exists), and all
    random draws come from this loss's own generator, seeded identically on
    every rank, so the queues stay identical across ranks without DDP
    broadcasting them; the queues, write pointers and generator state are
    in the checkpoint, so a resumed run continues with the same memories.

    Enqueue modes: ``'class'`` (default) writes ``pixels_per_class``
    random pixels *of class k*; ``'reference'`` reproduces the reference
    code, which draws the positions among the first n_k pixels of the
    whole image (n_k = the class's pixel count) whatever their label.

    Random draws, in order: per gathered image and per present class in
    ascending order, ``randperm(n_k)``; then ``randperm(M_p)[:n_p]``; then
    ``randperm(M_r)[:n_r]``.

    Args:
        num_classes (int): K.
        student_channels (int): C_s (filled from the probed tensor when
            left out).
        teacher_channels (int): C_t (likewise).
        pixel_memory_size (int): M_p per class. Defaults to 20000.
        region_memory_size (int): M_r per class. Defaults to 2000.
        pixels_per_class (int): Pixels enqueued per class per image (16).
        num_pixel_keys (int): N_p (4096), divided among the classes.
        num_region_keys (int): N_r (1024), divided among the classes.
        contrast_tau (float): tau_c (0.1).
        kd_tau (float): T (1.0).
        pixel_weight (float): Weight of the pixel term (0.1).
        region_weight (float): Weight of the region term (0.1).
        enqueue_mode (str): ``'class'`` or ``'reference'``.
        ignore_index (int): Label of ignored pixels (255).
        norm_cfg (dict, optional): Norm of the projection head. Default:
            SyncBN when training on several CUDA processes, else BN.
        seed (int): Seed of the queue initialisation and of the draws.
        chunk (int, optional): Anchors per chunk of the KL computation.
        loss_weight (float): Multiplies both terms. Defaults to 1.0.
    """

    uses_labels = True
    #: kept identical on every rank by the loss itself; DDP must not
    #: broadcast them (the segmentor puts them in DDP's ignore list)
    ddp_ignore_buffers = ('pixel_queue', 'region_queue')
    probed_channels = ('student_channels', 'teacher_channels')

    def __init__(self,
                 num_classes: int,
                 student_channels: int,
                 teacher_channels: int,
                 pixel_memory_size: int = 20000,
                 region_memory_size: int = 2000,
                 pixels_per_class: int = 16,
                 num_pixel_keys: int = 4096,
                 num_region_keys: int = 1024,
                 contrast_tau: float = 0.1,
                 kd_tau: float = 1.0,
                 pixel_weight: float = 0.1,
                 region_weight: float = 0.1,
                 enqueue_mode: str = 'class',
                 ignore_index: int = 255,
                 norm_cfg: Optional[dict] = None,
                 seed: int = 0,
                 chunk: Optional[int] = 1024,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if enqueue_mode not in ('class', 'reference'):
            raise ValueError("enqueue_mode must be 'class' or 'reference'.")
        self.num_classes = num_classes
        self.pixel_memory_size = pixel_memory_size
        self.region_memory_size = region_memory_size
        self.pixels_per_class = pixels_per_class
        self.num_pixel_keys = num_pixel_keys // num_classes + 1
        self.num_region_keys = num_region_keys // num_classes + 1
        if self.num_pixel_keys > pixel_memory_size or \
                self.num_region_keys > region_memory_size:
            raise ValueError(
                'CIRKDMemoryLoss samples more keys per class than the '
                f'memories hold ({self.num_pixel_keys} of '
                f'{pixel_memory_size} pixels, {self.num_region_keys} of '
                f'{region_memory_size} regions): enlarge the memories.')
        self.contrast_tau = contrast_tau
        self.kd_tau = kd_tau
        self.pixel_weight = pixel_weight
        self.region_weight = region_weight
        self.enqueue_mode = enqueue_mode
        self.ignore_index = ignore_index
        self.chunk = chunk
        if norm_cfg is None:
            distributed = get_world_size() > 1 and \
                torch.cuda.is_available()
            norm_cfg = dict(type='SyncBN' if distributed else 'BN')
        self.projector = nn.Sequential(
            nn.Conv2d(student_channels, teacher_channels, 1, bias=False),
            build_norm_layer(norm_cfg, teacher_channels)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(teacher_channels, teacher_channels, 1, bias=False))

        self.rng = CheckpointedGenerator(seed)
        self.register_buffer(
            'pixel_queue',
            self._unit_noise(num_classes, pixel_memory_size, teacher_channels))
        self.register_buffer(
            'region_queue',
            self._unit_noise(num_classes, region_memory_size,
                             teacher_channels))
        # write pointers live on the CPU (no device sync per class)
        self.pixel_ptr = torch.zeros(num_classes, dtype=torch.long)
        self.region_ptr = torch.zeros(num_classes, dtype=torch.long)

    def _unit_noise(self, *shape: int) -> Tensor:
        return F.normalize(
            torch.randn(shape, generator=self.rng.generator), p=2, dim=-1)

    # -------------------------------------------------- checkpointed state
    def get_extra_state(self) -> Tensor:
        """The write pointers, in one tensor (mmengine broadcasts every
        state-dict entry as a tensor; the generator is ``rng``'s)."""
        return torch.cat([self.pixel_ptr, self.region_ptr])

    def set_extra_state(self, state: Tensor) -> None:
        state = state.cpu()
        self.pixel_ptr = state[:self.num_classes].clone()
        self.region_ptr = state[self.num_classes:].clone()

    # --------------------------------------------------------------- queues
    @torch.no_grad()
    def enqueue(self, teacher: Tensor, labels: Tensor) -> None:
        """Write normalised teacher features (B, C_t, h, w) of the
        ``labels`` (B, h, w) classes into the memories (all ranks). An image
        whose features are not all finite is left out: the memories outlive
        the step, so a step that the non-finite guard skips must not leave
        NaN keys behind."""
        teacher = gather_rows(teacher)
        labels = gather_rows(labels)
        labels_cpu = labels.flatten(1).cpu()
        feats = teacher.flatten(2)  # (B, C, hw)
        finite = torch.isfinite(feats).flatten(1).all(dim=1).cpu()
        k_all = self.num_classes
        for b in range(feats.shape[0]):
            if not finite[b]:
                continue
            lab = labels_cpu[b]
            valid = valid_mask(lab, self.ignore_index, k_all)
            if not valid.any():
                continue
            positions = valid.nonzero()[:, 0]
            cls = lab[positions]
            counts = torch.bincount(cls, minlength=k_all)
            present = counts.nonzero()[:, 0]
            # regions: normalised class means, all present classes at once
            dev_pos = positions.to(feats.device)
            dev_cls = cls.to(feats.device)
            sums = feats.new_zeros(k_all, feats.shape[1]).index_add_(
                0, dev_cls, feats[b][:, dev_pos].t())
            means = F.normalize(sums[present.to(feats.device)], p=2, dim=1)
            slots = self.region_ptr[present]
            self.region_queue[present.to(feats.device),
                              slots.to(feats.device)] = means
            self.region_ptr[present] = (slots + 1) % self.region_memory_size
            # pixels
            order = torch.argsort(cls, stable=True)
            by_class = torch.split(positions[order], counts[present].tolist())
            for k, members in zip(present.tolist(), by_class):
                n_k = members.numel()
                perm = torch.randperm(n_k, generator=self.rng.generator)
                take = min(n_k, self.pixels_per_class)
                chosen = perm[:take] if self.enqueue_mode == 'reference' \
                    else members[perm[:take]]
                rows = feats[b][:, chosen.to(feats.device)].t()
                ptr = int(self.pixel_ptr[k])
                if ptr + take >= self.pixel_memory_size:
                    self.pixel_queue[k, -take:] = rows
                    self.pixel_ptr[k] = 0
                else:
                    self.pixel_queue[k, ptr:ptr + take] = rows
                    self.pixel_ptr[k] = ptr + take

    def sample_keys(self) -> Tuple[Tensor, Tensor]:
        """(pixel keys (K*n_p, C_t), region keys (K*n_r, C_t))."""
        pix = torch.randperm(
            self.pixel_memory_size,
            generator=self.rng.generator)[:self.num_pixel_keys]
        reg = torch.randperm(
            self.region_memory_size,
            generator=self.rng.generator)[:self.num_region_keys]
        dev = self.pixel_queue.device
        return (self.pixel_queue[:, pix.to(dev)].flatten(0, 1),
                self.region_queue[:, reg.to(dev)].flatten(0, 1))

    # ----------------------------------------------------------------- loss
    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_spatial(student, teacher, 'CIRKDMemoryLoss')
        for side, tensor, built in (('teacher', teacher,
                                     self.pixel_queue.shape[-1]),
                                    ('student', student,
                                     self.projector[0].in_channels)):
            if tensor.shape[1] != built:
                raise ValueError(
                    f'CIRKDMemoryLoss was built for {built} {side} channels'
                    f', got {tensor.shape[1]} ({side}_channels is filled in '
                    'from the probed tensors: record the same tensor).')
        check_labels(labels, student, 'CIRKDMemoryLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Dict[str, Tensor]:
        t_hat = F.normalize(teacher, p=2, dim=1)
        self.enqueue(t_hat, labels)
        pixel_keys, region_keys = self.sample_keys()
        s_hat = F.normalize(self.projector(student), p=2, dim=1)
        valid = valid_mask(labels, self.ignore_index, self.num_classes)
        if not bool(valid.any()):
            zero = s_hat.sum() * 0.0
            return dict(pixel=zero, region=zero)
        mask = valid.flatten()
        s_v = s_hat.permute(0, 2, 3, 1).flatten(0, 2)[mask]
        t_v = t_hat.permute(0, 2, 3, 1).flatten(0, 2)[mask]
        terms = {}
        for name, keys, weight in (('pixel', pixel_keys, self.pixel_weight),
                                   ('region', region_keys,
                                    self.region_weight)):
            terms[name] = weight * memory_contrast_kl(
                s_v, t_v, keys, self.contrast_tau, self.kd_tau, self.chunk)
        return terms

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, pixel_memory='
                f'{tuple(self.pixel_queue.shape)}, region_memory='
                f'{tuple(self.region_queue.shape)}, '
                f'enqueue_mode={self.enqueue_mode!r}, '
                f'loss_weight={self.loss_weight}')
