# Copyright (c) mmseg_kd contributors. All rights reserved.
"""DSD pixel-wise similarity distillation (PSD)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import describe_shapes, spatial_attention, unit_attention

_PAIRS = ('adjacent', 'all')


def stage_pairs(num_stages: int,
                pairs: str = 'adjacent') -> List[Tuple[int, int]]:
    """Index pairs (n, m), n < m, of the stages whose attention maps are
    subtracted: consecutive stages (``'adjacent'``) or every pair
    (``'all'``)."""
    if pairs == 'adjacent':
        return [(n, n + 1) for n in range(num_stages - 1)]
    return [(n, m) for n in range(num_stages - 1)
            for m in range(n + 1, num_stages)]


def residual_attention_maps(
        features: Sequence[Tensor],
        pairs: str = 'adjacent',
        size: Optional[Tuple[int, int]] = None) -> List[Tensor]:
    """Residual attention maps of one network.

    Each stage's (B, C_i, h, w) feature becomes an attention vector
    q_i = vec(mean_c f_i^2) / ||vec(mean_c f_i^2)||_2 of h*w entries (AT's
    map with p = 2; the channel mean and the channel sum give the same
    normalised map). Each stage pair (n, m) of :func:`stage_pairs` gives
    r_nm = (q_m - q_n) / ||q_m - q_n||_2 (0 where the two maps are equal).

    Args:
        features (Sequence[Tensor]): One (B, C_i, h_i, w_i) map per stage.
        pairs (str): ``'adjacent'`` or ``'all'``.
        size (tuple, optional): Bilinearly resize each channel-mean map to
            this (h, w) before normalising it; None: the maps must already
            share one size.

    Returns:
        list[Tensor]: One (B, h*w) residual map per pair.
    """
    maps = []
    for feat in features:
        att = spatial_attention(feat)
        if size is not None and tuple(att.shape[-2:]) != tuple(size):
            att = F.interpolate(
                att[:, None],
                size=tuple(size),
                mode='bilinear',
                align_corners=False)[:, 0]
        maps.append(unit_attention(att))
    return [
        F.normalize(maps[m] - maps[n], p=2, dim=1)
        for n, m in stage_pairs(len(maps), pairs)
    ]


def pixel_similarity_distillation(
        student: Sequence[Tensor],
        teacher: Sequence[Tensor],
        pairs: str = 'adjacent',
        size: Optional[Tuple[int, int]] = None) -> Tensor:
    """(1/P) sum over the P stage pairs of the mean over the B*h*w entries
    of (r^S - r^T)^2, r the :func:`residual_attention_maps`."""
    res_s = residual_attention_maps(student, pairs, size)
    res_t = residual_attention_maps(teacher, pairs, size)
    total = sum((s - t).pow(2).mean() for s, t in zip(res_s, res_t))
    return total / len(res_s)


@MODELS.register_module()
class DSDPixelSimilarityLoss(DistillLoss):
    """DSD pixel-wise similarity distillation, PSD (Feng et al., "Double
    Similarity Distillation for Semantic Image Segmentation", IEEE TIP 2021).

    PSD transfers how the spatial attention of a network changes from one
    stage to the next (the "residual" of residual learning), one value per
    pixel, so it costs O(h*w) instead of the O((h*w)^2) of a pair-wise
    similarity map. For each network, from S stage maps f_1..f_S (in config
    order, usually shallow to deep, channel counts free):

    .. math::
        q_i = \\frac{\\mathrm{vec}(\\frac{1}{C_i}\\sum_c f_{i,c}^2)}
                    {\\|\\mathrm{vec}(\\frac{1}{C_i}\\sum_c f_{i,c}^2)\\|_2},
        \\qquad
        r_{nm} = \\frac{q_m - q_n}{\\|q_m - q_n\\|_2},
        \\qquad
        L = \\frac{1}{P} \\sum_{(n,m)} \\frac{1}{B h w}
            \\sum_{b,i} (r^S_{nm,b,i} - r^T_{nm,b,i})^2

    (norms per image, over the h*w positions). The "pixel-wise similarity"
    is this per-pixel residual attention value; no h*w x h*w matrix is
    formed. Reduction: mean over the B*h*w entries of each residual map,
    then mean over the P stage pairs.

    Stage pairs: ``'adjacent'`` (default) takes consecutive stages, the
    paper's residual between neighbouring layers as we read it;
    ``'all'`` takes every pair n < m, as CIRKD's re-implementation
    (``losses/dsd.py``) does. Both coincide for two stages, which is CIRKD's
    run: the stages are the head feature (input of ``decode_head.conv_seg``)
    and the logits, both at 1/8, with loss_weight 1000 (the default here,
    CIRKD's ``lambda_psd``; plus CSD with 10 and KD with 1).

    Config: ``student=('feat', 'logits'), teacher=('feat', 'logits')``; the
    loss receives one list per network.

    Args:
        pairs (str): ``'adjacent'`` or ``'all'``. Defaults to 'adjacent'.
        resize (bool): Bilinearly resize every channel-mean map (of both
            networks) to the largest one's size before normalising, for
            stages of different resolutions. Defaults to False: all maps
            must have one size (true of the 1/8 stages of d8 models).
        loss_weight (float): Defaults to 1000 (CIRKD's lambda_psd).
    """

    def __init__(self,
                 pairs: str = 'adjacent',
                 resize: bool = False,
                 loss_weight: float = 1000.0) -> None:
        super().__init__(loss_weight)
        if pairs not in _PAIRS:
            raise ValueError(f'DSDPixelSimilarityLoss pairs must be one of '
                             f'{_PAIRS}, got {pairs!r}.')
        self.pairs = pairs
        self.resize = resize

    def check_inputs(self,
                     student: Union[Tensor, Sequence[Tensor]],
                     teacher: Union[Tensor, Sequence[Tensor]],
                     labels: Optional[Tensor] = None) -> None:
        name = 'DSDPixelSimilarityLoss'
        for side, value in (('student', student), ('teacher', teacher)):
            if not isinstance(value, (list, tuple)) or len(value) < 2:
                raise ValueError(
                    f'{name} needs at least two stage maps per network (a '
                    f"list), but the {side} gives "
                    f'{describe_shapes(value)}: name several tensors, e.g. '
                    "student=('feat', 'logits'), teacher=('feat', "
                    "'logits').")
            for t in value:
                if t.dim() != 4:
                    raise ValueError(
                        f'{name} expects (B, C, H, W) stage maps, but the '
                        f'{side} gives {describe_shapes(value)}: add a '
                        'TokensToMap connector for (B, N, C) tokens.')
        if len(student) != len(teacher):
            raise ValueError(
                f'{name} pairs the stages in order, but the student gives '
                f'{len(student)} maps and the teacher {len(teacher)}.')
        if len({t.shape[0] for t in (*student, *teacher)}) != 1:
            raise ValueError(
                f'{name} needs one batch size, but the student gives '
                f'{describe_shapes(student)} and the teacher '
                f'{describe_shapes(teacher)}.')
        sizes = {tuple(t.shape[2:]) for t in (*student, *teacher)}
        if len(sizes) > 1 and not self.resize:
            raise ValueError(
                f'{name} subtracts attention maps of one spatial size, but '
                f'the student gives {describe_shapes(student)} and the '
                f'teacher {describe_shapes(teacher)}: set resize=True '
                '(bilinear, to the largest size) or add ResizeConnectors.')

    def compute(self, student: Sequence[Tensor], teacher: Sequence[Tensor],
                labels: Optional[Tensor]) -> Tensor:
        size = None
        if self.resize:
            size = max((tuple(t.shape[2:]) for t in (*student, *teacher)),
                       key=lambda s: s[0] * s[1])
        return pixel_similarity_distillation(student, teacher, self.pairs,
                                             size)

    def extra_repr(self) -> str:
        return (f'pairs={self.pairs!r}, resize={self.resize}, '
                f'loss_weight={self.loss_weight}')
