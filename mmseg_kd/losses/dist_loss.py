# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_maps, check_same_shape, pearson_correlation


def dist_relations(student_logits: Tensor,
                   teacher_logits: Tensor,
                   tau: float = 1.0,
                   beta: float = 1.0,
                   gamma: float = 1.0) -> Tensor:
    """DIST of (B, K, h, w) logits: with P = softmax(z / tau) over classes
    and rho the Pearson correlation,
    ``tau^2 * (beta * inter + gamma * intra)`` where
    inter = 1 - mean over the B*h*w pixels of rho(P^S_pixel, P^T_pixel)
    (across classes) and intra = 1 - mean over the K classes of
    rho(P^S_class, P^T_class) (across all B*h*w pixels of the batch)."""
    p_s = F.softmax(student_logits / tau, dim=1)
    p_t = F.softmax(teacher_logits / tau, dim=1)
    pixel_dims = (0, ) + tuple(range(2, p_s.dim()))
    inter = 1.0 - pearson_correlation(p_s, p_t, dim=1).mean()
    intra = 1.0 - pearson_correlation(p_s, p_t, dim=pixel_dims).mean()
    return tau**2 * (beta * inter + gamma * intra)


@MODELS.register_module()
class DISTLoss(DistillLoss):
    """DIST, relational distillation with Pearson correlation (Huang et al.,
    "Knowledge Distillation from A Stronger Teacher", NeurIPS 2022),
    segmentation form.

    Flatten the logits to :math:`Y \\in R^{M \\times K}` (M = B*h*w pixels
    of the local batch), :math:`P = \\mathrm{softmax}(Y/\\tau)` per row, and
    let :math:`\\rho(u, v) = \\langle u - \\bar u, v - \\bar v\\rangle /
    (\\|u - \\bar u\\| \\|v - \\bar v\\| + 10^{-8})`. Then

    .. math::
        L = \\tau^2 \\Big[\\beta \\big(1 - \\tfrac{1}{M} \\sum_m
            \\rho(P^S_{m,:}, P^T_{m,:})\\big) + \\gamma \\big(1 -
            \\tfrac{1}{K} \\sum_k \\rho(P^S_{:,k}, P^T_{:,k})\\big)\\Big]

    The inter-class term correlates the class distributions of each pixel;
    the intra-class term correlates each class's probabilities over all
    pixels of the local batch (so it depends on the per-GPU batch; there is
    no cross-GPU gather, as the reference). No ignore masking. The
    segmentation reference has no temperature (tau = 1, no factor); for
    tau != 1 the loss follows the classification DIST convention: logits
    divided by tau and the whole loss multiplied by tau^2. Reference
    defaults: beta = gamma = 1, loss_weight 1 on the main logits
    (``decode_head.conv_seg``) plus 0.4 on the auxiliary logits
    (``auxiliary_head.conv_seg``), as two loss entries.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        beta (float): Weight of the inter-class term. Defaults to 1.0.
        gamma (float): Weight of the intra-class term. Defaults to 1.0.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 1.0,
                 beta: float = 1.0,
                 gamma: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if tau <= 0:
            raise ValueError(f'DISTLoss tau must be > 0, got {tau}.')
        self.tau = float(tau)
        self.beta = float(beta)
        self.gamma = float(gamma)

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_maps(student, teacher, 'DISTLoss', 'logits')
        check_same_shape(student, teacher, 'DISTLoss', 'logits')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return dist_relations(student, teacher, self.tau, self.beta,
                              self.gamma)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, beta={self.beta}, gamma={self.gamma}, '
                f'loss_weight={self.loss_weight}')
