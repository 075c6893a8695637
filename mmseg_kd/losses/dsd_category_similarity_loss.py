# Copyright (c) mmseg_kd contributors. All rights reserved.
"""DSD category-wise similarity distillation (CSD)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_maps, check_same_shape, describe_shapes


def category_similarity(logits: Tensor,
                        tau: float = 4.0,
                        pool: bool = True) -> Tensor:
    """(B, K, h, w) logits -> (B, K, K) Gram matrix G = P P^T of the class
    maps, each a softmax over its positions at temperature tau,
    P_k = softmax_i(z_k,i / tau), after an optional 2x2 stride-2 average
    pooling (windows cut by an odd border average their in-image part)."""
    if pool:
        logits = F.avg_pool2d(logits, 2, 2, ceil_mode=True)
    prob = F.softmax(logits.flatten(2) / tau, dim=2)
    return torch.bmm(prob, prob.transpose(1, 2))


def category_similarity_distillation(student: Tensor,
                                     teacher: Tensor,
                                     tau: float = 4.0,
                                     pool: bool = True) -> Tensor:
    """Mean over the B*K*K entries of (G^S - G^T)^2, G the
    :func:`category_similarity` of each network's logits."""
    return (category_similarity(student, tau, pool) -
            category_similarity(teacher, tau, pool)).pow(2).mean()


@MODELS.register_module()
class DSDCategorySimilarityLoss(DistillLoss):
    """DSD category-wise similarity distillation, CSD (Feng et al., "Double
    Similarity Distillation for Semantic Image Segmentation", IEEE TIP 2021).

    The logits are 2x2 average-pooled, each class map becomes a distribution
    over its N = h*w positions at temperature tau, and the K x K Gram matrix
    of these distributions (how much two classes claim the same pixels) is
    matched:

    .. math::
        P_{b,k} = \\mathrm{softmax}_i(\\bar z_{b,k,i} / \\tau), \\qquad
        G_b = P_b P_b^T, \\qquad
        L = \\frac{1}{B K^2} \\sum_{b,k,l} (G^S_{b,kl} - G^T_{b,kl})^2

    Reduction: mean over the B*K*K entries; no tau^2 factor. Defaults are
    CIRKD's re-implementation (``losses/dsd.py`` and its scripts): tau = 4,
    2x2 pooling (stride 2, ceil mode), loss_weight 10 (``lambda_csd``) on
    ``decode_head.conv_seg`` (plus PSD with 1000 and KD with 1).

    Args:
        tau (float): Temperature of the spatial softmax. Defaults to 4.0.
        pool (bool): 2x2 average pooling first. Defaults to True.
        loss_weight (float): Defaults to 10 (CIRKD's lambda_csd).
    """

    def __init__(self,
                 tau: float = 4.0,
                 pool: bool = True,
                 loss_weight: float = 10.0) -> None:
        super().__init__(loss_weight)
        self.tau = tau
        self.pool = pool

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        if not isinstance(student, Tensor):
            raise ValueError('DSDCategorySimilarityLoss expects (B, K, h, w) '
                             f'logits, got {describe_shapes(student)}.')
        check_maps(student, teacher, 'DSDCategorySimilarityLoss', 'logits')
        check_same_shape(student, teacher, 'DSDCategorySimilarityLoss',
                         'logits')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return category_similarity_distillation(student, teacher, self.tau,
                                                self.pool)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, pool={self.pool}, '
                f'loss_weight={self.loss_weight}')
