# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_same_shape, kl_divergence


def channel_wise_divergence(student: Tensor,
                            teacher: Tensor,
                            tau: float = 1.0) -> Tensor:
    """tau^2 / (B*C) * sum_{b,c} KL(phi(t_bc) || phi(s_bc)), where phi is the
    softmax over the h*w positions of one channel at temperature tau."""
    b, c = student.shape[:2]
    kl = kl_divergence(
        student.reshape(b * c, -1), teacher.reshape(b * c, -1), 1, tau)
    return tau**2 * kl.sum() / (b * c)


@MODELS.register_module()
class ChannelWiseDivergence(DistillLoss):
    """Channel-wise distillation, CWD (Shu et al., "Channel-wise Knowledge
    Distillation for Dense Prediction", ICCV 2021).

    Each channel of a (B, C, h, w) map becomes a distribution over its h*w
    positions, :math:`\\phi(z_{b,c})_i = \\mathrm{softmax}_i(z_{b,c,i}/\\tau)`,
    and

    .. math::
        L = \\frac{\\tau^2}{B C} \\sum_{b,c}
            KL(\\phi(z^T_{b,c}) \\| \\phi(z^S_{b,c}))

    Reduction: KL summed over positions, mean over batch and channels, times
    tau^2 (nothing is divided by h*w). Works on logits (same classes) or on
    features through a ChannelConnector. Defaults of the papers: official
    Cityscapes code tau = 4, weight 3 on logits; mmrazor tau = 1, weight 5.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        self.tau = tau

    def check_inputs(self, student: Tensor, teacher: Tensor) -> None:
        if student.dim() != 4:
            raise ValueError('ChannelWiseDivergence expects (B, C, h, w) maps,'
                             f' got shape {tuple(student.shape)}.')
        check_same_shape(student, teacher, 'ChannelWiseDivergence')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return channel_wise_divergence(student, teacher, self.tau)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
