# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import attention_map, check_same_spatial


def attention_transfer(student: Tensor, teacher: Tensor) -> Tensor:
    """Mean over B*h*w of (a^S - a^T)^2 of the :func:`attention_map` of
    (B, C_s, h, w) and (B, C_t, h, w) features (channel counts may
    differ)."""
    return (attention_map(student) - attention_map(teacher)).pow(2).mean()


@MODELS.register_module()
class ATLoss(DistillLoss):
    """Attention transfer, AT (Zagoruyko & Komodakis, "Paying More Attention
    to Attention", ICLR 2017).

    A feature map becomes a spatial attention vector (channel mean of the
    squared activations, flattened over the h*w positions, L2-normalised per
    image):

    .. math::
        a_b = \\frac{q_b}{\\|q_b\\|_2}, \\quad
        q_b(y, x) = \\frac{1}{C} \\sum_c f_{b,c,y,x}^2, \\qquad
        L = \\frac{1}{B h w} \\sum_{b,y,x} (a^S_b(y, x) - a^T_b(y, x))^2

    Reduction: mean over the B*h*w entries (CIRKD's ``losses/at.py``; the
    original code of the paper has the same form). Student and teacher may
    have different channel counts (no connector needed) but must have the
    same spatial size (else add a ResizeConnector). CIRKD uses it on the head
    feature with loss_weight = 1e4 (plus KD with weight 1).

    Args:
        loss_weight (float): Defaults to 1.0.
    """

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_spatial(student, teacher, 'ATLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return attention_transfer(student, teacher)
