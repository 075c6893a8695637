# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import attention_map, check_same_spatial, spatial_attention

_NORMALIZE = ('h_axis', 'flatten')


def normalized_attention(features: Tensor,
                         normalize: str = 'h_axis') -> Tensor:
    """(B, C, H, W) features -> (B, H, W) attention a = mean_c f^2, L2
    normalised along H for every column x (``'h_axis'``, i.e.
    ``F.normalize(a, dim=1)`` on the (B, H, W) map) or over all H*W
    positions of an image (``'flatten'``)."""
    if normalize == 'h_axis':
        return F.normalize(spatial_attention(features), p=2, dim=1)
    b, _, h, w = features.shape
    return attention_map(features).view(b, h, w)  # the AT map


def prerelu_attention_distillation(student: Tensor,
                                   teacher: Tensor,
                                   normalize: str = 'h_axis') -> Tensor:
    """Mean over B*H*W of (a^T - a^S)^2 of the normalised attention maps of
    (B, C_s, H, W) and (B, C_t, H, W) features (channel counts may differ)."""
    return (normalized_attention(teacher, normalize) -
            normalized_attention(student, normalize)).pow(2).mean()


@MODELS.register_module()
class PreReLUAttentionLoss(DistillLoss):
    """Pixel-wise term ("pre-ReLU GAM") of "An Efficient Knowledge
    Distillation Architecture for Real-time Semantic Segmentation"
    (reference code: AmirMansurian/AICSD, commit 3f7c969).

    On a (B, C, H, W) feature map (the paper: the decoder's last conv before
    its ReLU, ``decode_head.sep_bottleneck.1.pointwise_conv.bn`` in mmseg's
    DeepLabV3+):

    .. math::
        a_b(y, x) = \\frac{1}{C} \\sum_c f_{b,c,y,x}^2, \\qquad
        L = \\frac{1}{B H W} \\sum_{b,y,x}
            (\\hat a^T_b(y, x) - \\hat a^S_b(y, x))^2

    Normalisation ``normalize='h_axis'`` (default, the reference):
    :math:`\\hat a_b(y, x) = a_b(y, x) / \\|a_b(\\cdot, x)\\|_2`, i.e.
    ``F.normalize(a)`` with its default ``dim=1`` applied to the (B, H, W)
    map, which L2-normalises along H separately for every column x. This is
    the reference's behaviour, kept by default for faithful reproduction.
    ``normalize='flatten'`` divides by the L2 norm over all H*W positions of
    the image, the standard attention-transfer map (as ``ATLoss``).

    Reduction: mean over B*H*W. Only the maps are compared, so the channel
    counts may differ; the spatial sizes must match. Reference default:
    loss_weight 100 (``--pi_lambda 100``). The paper's pair-wise term is
    :class:`SKDPairWiseLoss` with its defaults (pool_scale 0.5,
    detach_norm) on the pre-ReLU ASPP output (``decode_head.bottleneck.bn``),
    loss_weight 1; it is not duplicated here.

    Args:
        normalize (str): ``'h_axis'`` (the reference) or ``'flatten'``.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 normalize: str = 'h_axis',
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if normalize not in _NORMALIZE:
            raise ValueError('PreReLUAttentionLoss normalize must be one of '
                             f'{_NORMALIZE}, got {normalize!r}.')
        self.normalize = normalize

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_spatial(student, teacher, 'PreReLUAttentionLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return prerelu_attention_distillation(student, teacher, self.normalize)

    def extra_repr(self) -> str:
        return (f'normalize={self.normalize!r}, '
                f'loss_weight={self.loss_weight}')
