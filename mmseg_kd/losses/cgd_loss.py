# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_maps, check_same_shape, kl_from_log_probs


def _group_logsumexp(lse: Tensor, group_size: int) -> Tensor:
    """Log-sum-exp over groups of ``group_size`` consecutive channels of
    per-channel log-sum-exps ``lse`` (B, K) -> (B, ceil(K / g)).

    When K is not a multiple of g the last group is padded with channels of
    zero probability. They are masked out of the sum rather than filled with
    -inf or -1e9, so the result is exact and finite in every dtype: the
    padding holds the row minimum (so the group maximum is a real channel's)
    and gets weight 0."""
    b, k = lse.shape
    pad = (-k) % group_size
    if pad:
        fill = lse.min(dim=1, keepdim=True).values.expand(b, pad)
        lse = torch.cat([lse, fill], dim=1)
    lse = lse.reshape(b, -1, group_size)
    top = lse.max(dim=2, keepdim=True).values.detach()
    weights = torch.exp(lse - top)
    if pad:
        real = torch.ones(k + pad, dtype=lse.dtype, device=lse.device)
        real[k:] = 0
        weights = weights * real.reshape(-1, group_size)
    return top.squeeze(2) + torch.log(weights.sum(dim=2))


def channel_group_log_softmax(logits: Tensor,
                              group_size: int,
                              tau: float = 1.0) -> Tensor:
    """Log-probabilities of the channel-group distributions.

    Channels kg .. kg+g-1 of one image form group k; its distribution is the
    softmax of z / tau over the group's g*H*W entries (padding channels, when
    K mod g != 0, carry zero probability and are not returned).

    Args:
        logits (Tensor): (B, K, H, W) maps (any trailing spatial dims).
        group_size (int): g.
        tau (float): Temperature.

    Returns:
        Tensor: (B, K, H*W) log-probabilities; each group's probabilities sum
        to 1.
    """
    b, k = logits.shape[:2]
    z = logits.reshape(b, k, -1) / tau
    # shift each group by its maximum first (as log_softmax does), so that
    # large logits lose no precision when the log-sum-exp is subtracted
    group_max = _group_max(z.amax(dim=2), group_size)
    z = z - _per_channel(group_max, group_size, k)[..., None]
    group_lse = _group_logsumexp(torch.logsumexp(z, dim=2), group_size)
    return z - _per_channel(group_lse, group_size, k)[..., None]


def _group_max(values: Tensor, group_size: int) -> Tensor:
    """(B, K) per-channel values -> (B, ceil(K / g)) group maxima (no
    gradient: only a shift that the softmax is invariant to)."""
    b, k = values.shape
    pad = (-k) % group_size
    if pad:
        fill = values.min(dim=1, keepdim=True).values.expand(b, pad)
        values = torch.cat([values, fill], dim=1)
    return values.reshape(b, -1, group_size).amax(dim=2).detach()


def _per_channel(per_group: Tensor, group_size: int,
                 num_channels: int) -> Tensor:
    """(B, G) per-group values repeated for each of the group's
    ``group_size`` channels: (B, K), the last group cut at K."""
    return per_group.repeat_interleave(group_size, dim=1)[:, :num_channels]


def channel_group_softmax(logits: Tensor,
                          group_size: int,
                          tau: float = 1.0) -> Tensor:
    """The grouped distributions as the reference lays them out:
    (B, K'/g, g*H*W) probabilities, K' = K rounded up to a multiple of g,
    padding channels included with probability exactly 0."""
    b, k = logits.shape[:2]
    probs = channel_group_log_softmax(logits, group_size, tau).exp()
    probs = F.pad(probs, (0, 0, 0, (-k) % group_size))
    return probs.reshape(b, -1, group_size * probs.shape[2])


def channel_group_divergence(student: Tensor,
                             teacher: Tensor,
                             group_size: int,
                             tau: float = 1.0) -> Tensor:
    """(1 / (B*K'/g)) * sum_{b,k} KL(p^T_{b,k} || p^S_{b,k}) over the
    channel-group distributions of :func:`channel_group_log_softmax`
    (K' = K rounded up to a multiple of g). No tau^2 factor."""
    b, k = student.shape[:2]
    log_p_s = channel_group_log_softmax(student, group_size, tau)
    log_p_t = channel_group_log_softmax(teacher, group_size, tau)
    kl = kl_from_log_probs(log_p_s, log_p_t)
    groups = -(-k // group_size)
    return kl / (b * groups)


def shuffle_permutation(num_channels: int, step: int) -> Tensor:
    """The channel permutation of a shuffle step: a ``randperm`` from a CPU
    generator seeded with the step, so every DDP rank and a resumed run
    draw the same one."""
    gen = torch.Generator().manual_seed(int(step))
    return torch.randperm(num_channels, generator=gen)


@MODELS.register_module()
class CGDLoss(DistillLoss):
    """Channel group distillation, CGD (wzpscott/SegDistill).

    Channels of the (B, K, H, W) logits are split into groups of g
    consecutive channels (when K mod g != 0 the last group is padded with
    channels of zero probability, K' = g * ceil(K / g)); each (image, group)
    is one distribution over its g*H*W entries,
    :math:`p_{b,k} = \\mathrm{softmax}(z_{b,\\,kg:(k+1)g}/\\tau)`, and

    .. math::
        L = \\frac{1}{B K'/g} \\sum_{b,k} KL(p^T_{b,k} \\| p^S_{b,k})

    Reduction: KL summed over each group's entries, mean over batch and
    groups, **no tau^2 factor** (the reference). g = 1 is CD (CWD without
    tau^2); g = K is one joint softmax over all K*H*W entries.

    Resolution: the reference resizes both logits (bilinear,
    align_corners=False) to the ground-truth size before the loss;
    ``resize_to='labels'`` does this (the distiller then passes the labels
    at full resolution, for their size only). ``resize_to=(H, W)`` resizes to
    a fixed size; ``None`` uses the tensors as they are (same shape needed).

    Shuffle (a reference quirk, off by default): with ``shuffle_interval``
    set, at every step that is a multiple of it the same random channel
    permutation is applied to student and teacher, for that step only (see
    :func:`shuffle_permutation`). The reference uses 1000 and counts steps
    from 1 (its counter is incremented before use), so the shuffle happens
    at steps 1000, 2000, ..., i.e. at runner iterations 999, 1999, ...
    (``step = iteration + 1``).

    Reference defaults (ADE20K, K = 150): group_size 10 (5 for PSPNet-R50),
    tau 2, loss_weight 3, shuffle every 1000 iterations, logits resized to
    the label size. CGD+WS adds a weight schedule (``weight_schedule=`` of
    the loss entry: LinearWarmup to 2k, LinearDecay 110k -> 120k).

    Args:
        group_size (int): Channels per group, g. Defaults to 10.
        tau (float): Temperature. Defaults to 2.0.
        resize_to (str | tuple[int, int], optional): ``'labels'``, an
            (H, W) size, or None. Defaults to None.
        shuffle_interval (int, optional): Shuffle period in iterations.
            Defaults to None (no shuffle).
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 group_size: int = 10,
                 tau: float = 2.0,
                 resize_to: Optional[Union[str, Sequence[int]]] = None,
                 shuffle_interval: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if int(group_size) < 1:
            raise ValueError(
                f'CGDLoss group_size must be >= 1, got {group_size}.')
        if tau <= 0:
            raise ValueError(f'CGDLoss tau must be > 0, got {tau}.')
        if shuffle_interval is not None and int(shuffle_interval) < 1:
            raise ValueError('CGDLoss shuffle_interval must be >= 1 or None, '
                             f'got {shuffle_interval}.')
        if isinstance(resize_to, str):
            if resize_to != 'labels':
                raise ValueError("CGDLoss resize_to must be 'labels', an "
                                 f'(H, W) size or None, got {resize_to!r}.')
        elif resize_to is not None:
            resize_to = tuple(int(v) for v in resize_to)
            if len(resize_to) != 2 or min(resize_to) < 1:
                raise ValueError('CGDLoss resize_to must be an (H, W) size, '
                                 f'got {resize_to}.')
        self.group_size = int(group_size)
        self.tau = float(tau)
        self.resize_to = resize_to
        self.shuffle_interval = (None if shuffle_interval is None else
                                 int(shuffle_interval))
        # resizing to the ground truth needs its size: ask the distiller for
        # the labels at full resolution
        self.uses_labels = resize_to == 'labels'
        self.full_resolution_labels = self.uses_labels

    #: the shuffle depends on the iteration
    uses_iteration = True

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_maps(student, teacher, 'CGDLoss', 'logits')
        if self.resize_to is None:
            if student.shape[2:] != teacher.shape[2:] and \
                    student.shape[:2] == teacher.shape[:2]:
                raise ValueError(
                    'CGDLoss compares logits of the same spatial size, but '
                    f'the student gives {tuple(student.shape)} and the '
                    f'teacher {tuple(teacher.shape)}: set '
                    "resize_to='labels' (the reference) or add a "
                    'ResizeConnector for this student tensor.')
            check_same_shape(student, teacher, 'CGDLoss', 'logits')
        elif student.shape[:2] != teacher.shape[:2]:
            raise ValueError(
                'CGDLoss needs the same batch size and classes on both sides,'
                f' but the student gives {tuple(student.shape)} and the '
                f'teacher {tuple(teacher.shape)}: make sure both models '
                'predict the same classes (num_classes).')

    def target_size(self, student: Tensor,
                    labels: Optional[Tensor]) -> Tuple[int, int]:
        """The (H, W) the logits are compared at."""
        if self.resize_to == 'labels':
            return tuple(labels.shape[-2:])
        if self.resize_to is not None:
            return self.resize_to
        return tuple(student.shape[-2:])

    def shuffles_at(self, iteration: int) -> bool:
        """Whether the runner iteration ``iteration`` (0-based) shuffles:
        its 1-based step is a multiple of the interval."""
        return (self.shuffle_interval is not None
                and (iteration + 1) % self.shuffle_interval == 0)

    def compute(self,
                student: Tensor,
                teacher: Tensor,
                labels: Optional[Tensor],
                iteration: int = 0) -> Tensor:
        size = self.target_size(student, labels)
        if self.shuffles_at(iteration):
            perm = shuffle_permutation(student.shape[1],
                                       iteration + 1).to(student.device)
            student, teacher = student[:, perm], teacher[:, perm]
        student = _resize(student, size)
        teacher = _resize(teacher, size)
        return channel_group_divergence(student, teacher, self.group_size,
                                        self.tau)

    def extra_repr(self) -> str:
        return (f'group_size={self.group_size}, tau={self.tau}, '
                f'resize_to={self.resize_to!r}, '
                f'shuffle_interval={self.shuffle_interval}, '
                f'loss_weight={self.loss_weight}')


def _resize(x: Tensor, size: Tuple[int, int]) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)
