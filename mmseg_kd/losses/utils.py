# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Tensor helpers shared by the distillation losses."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def kl_divergence(student_logits: Tensor,
                  teacher_logits: Tensor,
                  dim: int,
                  tau: float = 1.0) -> Tensor:
    """KL(softmax(t / tau) || softmax(s / tau)) along ``dim``, unreduced
    otherwise: sum_k p_t,k (log p_t,k - log p_s,k). Uses ``log_softmax`` on
    both sides, so it stays finite where a softmax underflows."""
    return kl_from_log_probs(
        F.log_softmax(student_logits / tau, dim=dim),
        F.log_softmax(teacher_logits / tau, dim=dim), dim)


def kl_from_log_probs(log_p_s: Tensor, log_p_t: Tensor, dim=None) -> Tensor:
    """KL(p_t || p_s) = sum p_t (log p_t - log p_s) from log-probabilities,
    summed along ``dim`` (all dims when None)."""
    terms = log_p_t.exp() * (log_p_t - log_p_s)
    return terms.sum() if dim is None else terms.sum(dim=dim)


def masked_mean(values: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Mean of ``values`` where ``mask`` is true (everywhere when None).
    An empty mask gives a zero that stays connected to the graph, not NaN."""
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def valid_mask(labels: Optional[Tensor],
               ignore_index: Optional[int] = None,
               num_classes: Optional[int] = None) -> Optional[Tensor]:
    """Boolean mask of the pixels with a real label: not ``ignore_index``
    and, with ``num_classes``, in [0, num_classes). None when there are no
    labels or nothing to exclude (every pixel counts)."""
    if labels is None or (ignore_index is None and num_classes is None):
        return None
    mask = torch.ones_like(labels, dtype=torch.bool)
    if ignore_index is not None:
        mask &= labels != ignore_index
    if num_classes is not None:
        mask &= (labels >= 0) & (labels < num_classes)
    return mask


def check_same_shape(student: Tensor,
                     teacher: Tensor,
                     loss: str,
                     what: str = 'tensors') -> None:
    """Raise a ValueError naming both shapes and the fix when they differ
    (``what='logits'`` for losses on class logits: there a channel mismatch
    is a class-count mismatch, which no connector fixes)."""
    if student.shape == teacher.shape:
        return
    s, t = tuple(student.shape), tuple(teacher.shape)
    if student.dim() == teacher.dim() and s[0] != t[0]:
        fix = ('the batch sizes differ: both tensors must come from the same'
               ' images (record them in the same forward)')
    elif student.dim() == teacher.dim() == 4 and s[2:] == t[2:] and \
            what == 'logits':
        fix = ('the numbers of classes differ: both models must predict the'
               ' same classes (decode_head.num_classes); a ChannelConnector'
               ' would not make the classes correspond')
    elif student.dim() == teacher.dim() == 4 and s[2:] == t[2:]:
        fix = ('the channel counts differ: add a ChannelConnector for this '
               'student tensor')
    elif student.dim() == teacher.dim() == 4 and s[1] == t[1]:
        fix = ('the spatial sizes differ: add a ResizeConnector for this '
               'student tensor')
    else:
        fix = ('add connectors (TokensToMap, ChannelConnector, '
               'ResizeConnector) for this student tensor')
    raise ValueError(f'{loss} compares {what} of the same shape, but the '
                     f'student gives {s} and the teacher {t}: {fix}.')


def check_labels(labels: Optional[Tensor],
                 student: Tensor,
                 loss: str,
                 full_resolution: bool = False) -> None:
    """Raise a ValueError naming the fix unless ``labels`` is a (B, h, w)
    map for the B images of ``student`` (B, C, h, w), at its size (or, with
    ``full_resolution``, at any size). None passes (no labels given)."""
    if labels is None:
        return
    b, size = student.shape[0], tuple(student.shape[2:])
    got = tuple(labels.shape)
    if labels.dim() != 3 or got[0] != b:
        raise ValueError(
            f'{loss} needs (B, h, w) labels for the {b} images of the '
            f'tensors {tuple(student.shape)}, got labels of shape {got}.')
    if not full_resolution and got[1:] != size:
        raise ValueError(
            f'{loss} needs labels at the tensors\' size {size}, got {got}: '
            'resize them (nearest) to the tensors, as the distiller does.')


def pairwise_cosine(features: Tensor, detach_norm: bool = False) -> Tensor:
    """Cosine similarity between all positions of each map.

    Args:
        features (Tensor): (B, C, N) features of N positions.
        detach_norm (bool): Divide by the L2 norm (+1e-8) without gradient
            through the norm (the SKD reference). Otherwise the norm is
            differentiable (``F.normalize``).

    Returns:
        Tensor: (B, N, N) similarities.
    """
    if detach_norm:
        norm = features.norm(p=2, dim=1, keepdim=True).detach() + 1e-8
        unit = features / norm
    else:
        unit = F.normalize(features, p=2, dim=1)
    return torch.bmm(unit.transpose(1, 2), unit)


def spatial_attention(features: Tensor) -> Tensor:
    """Channel mean of the squared features: (B, C, H, W) -> (B, H, W),
    a(b, y, x) = (1/C) sum_c f(b, c, y, x)^2 (the attention map of attention
    transfer and of the pre-ReLU pixel-wise loss, before normalisation)."""
    return features.pow(2).mean(dim=1)


def unit_attention(attention: Tensor) -> Tensor:
    """(B, h, w) attention maps -> (B, h*w) vectors, L2-normalised per
    image."""
    return F.normalize(attention.flatten(1), p=2, dim=1)


def attention_map(features: Tensor) -> Tensor:
    """(B, C, h, w) features -> (B, h*w) attention vectors of attention
    transfer: the :func:`spatial_attention` map, flattened and L2-normalised
    per image."""
    return unit_attention(spatial_attention(features))


def check_maps(student: Tensor,
               teacher: Tensor,
               loss: str,
               what: str = 'feature maps') -> None:
    """Raise a ValueError naming the fix unless both tensors are 4-D
    (B, C, H, W) maps."""
    if student.dim() != 4 or teacher.dim() != 4:
        layout = '(B, K, H, W)' if what == 'logits' else '(B, C, H, W)'
        raise ValueError(
            f'{loss} expects {layout} {what}, but the student gives '
            f'{tuple(student.shape)} and the teacher {tuple(teacher.shape)}:'
            ' record a 4-D tensor, or add a TokensToMap connector for '
            '(B, N, C) tokens.')


def check_same_spatial(student: Tensor,
                       teacher: Tensor,
                       loss: str,
                       what: str = 'feature maps') -> None:
    """Raise a ValueError naming the fix unless both tensors are (B, C, H, W)
    maps with the same batch size and spatial size; the channel counts may
    differ (for losses that compare only per-position or per-pair maps)."""
    check_maps(student, teacher, loss, what)
    s, t = tuple(student.shape), tuple(teacher.shape)
    if s[0] != t[0]:
        raise ValueError(f'{loss} needs the same batch size on both sides, but'
                         f' the student gives {s} and the teacher {t}.')
    if s[2:] != t[2:]:
        raise ValueError(
            f'{loss} compares {what} of the same spatial size (the channel '
            f'counts may differ), but the student gives {s} and the teacher '
            f'{t}: add a ResizeConnector for this student tensor.')


def pearson_correlation(x: Tensor,
                        y: Tensor,
                        dim,
                        eps: float = 1e-8) -> Tensor:
    """Pearson correlation of ``x`` and ``y`` along ``dim`` (an int or a
    tuple of dims), reduced over those dims:
    <x - mean x, y - mean y> / (||x - mean x|| ||y - mean y|| + eps).
    The eps (added to the denominator, as DIST's reference) keeps a constant
    vector finite: its correlation is 0."""
    x = x - x.mean(dim=dim, keepdim=True)
    y = y - y.mean(dim=dim, keepdim=True)
    num = (x * y).sum(dim=dim)
    den = (
        torch.linalg.vector_norm(x, dim=dim) *
        torch.linalg.vector_norm(y, dim=dim))
    return num / (den + eps)


def class_means(features: Tensor,
                labels: Tensor,
                num_classes: int,
                eps: float = 1e-6) -> Tensor:
    """Per-image class means (prototypes) by scatter-add, without a loop
    over classes and in O(B*C*K + B*C*N) memory.

    Args:
        features (Tensor): (B, C, N) features of N positions.
        labels (Tensor): (B, N) long labels; values outside [0, K) (ignore)
            are collected in an extra bin K.
        num_classes (int): K.
        eps (float): Added to the pixel count: mean = sum / (count + eps),
            so an absent class gives a zero prototype.

    Returns:
        Tensor: (B, C, K + 1) means; index K holds the ignored pixels' mean.
        Differentiable w.r.t. ``features``.
    """
    b, c, _ = features.shape
    bins = torch.where(
        valid_mask(labels, num_classes=num_classes), labels,
        torch.full_like(labels, num_classes))
    sums = features.new_zeros(b, c, num_classes + 1).scatter_add(
        2, bins[:, None].expand(-1, c, -1), features)
    counts = features.new_zeros(b, num_classes + 1).scatter_add(
        1, bins, torch.ones_like(bins, dtype=features.dtype))
    return sums / (counts[:, None] + eps)


def z_score(logits: Tensor, dim: int, eps: float = 1e-7) -> Tensor:
    """Logit standardisation (Sun et al., CVPR 2024) along ``dim``:
    (z - mean z) / sigma(z), with the population standard deviation
    sigma = sqrt(mean (z - mean z)^2) of the paper's Algorithm 1.

    sigma is computed as sqrt(var + eps^2): equal to the reference's
    ``std + eps`` up to O(eps) and, unlike it, with a finite gradient for a
    constant vector (which maps to zeros). The reference code divides by
    ``torch.std`` (unbiased, n - 1), i.e. its standardised logits are
    sqrt((n - 1) / n) times these: the same as a base temperature larger by
    sqrt(n / (n - 1)) (2.7% for 19 classes, negligible for a spatial
    map)."""
    centred = logits - logits.mean(dim=dim, keepdim=True)
    var = centred.pow(2).mean(dim=dim, keepdim=True)
    return centred / torch.sqrt(var + eps**2)


def describe_shapes(value) -> str:
    """The shape of a tensor, or of each tensor of a list, for messages."""
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(str(tuple(t.shape)) for t in value) + ']'
    return str(tuple(value.shape))
