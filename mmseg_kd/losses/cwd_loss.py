# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_maps, check_same_shape, kl_divergence, z_score


def channel_wise_divergence(student: Tensor,
                            teacher: Tensor,
                            tau: float = 1.0,
                            standardize: bool = False) -> Tensor:
    """tau^2 / (B*C) * sum_{b,c} KL(phi(t_bc) || phi(s_bc)), where phi is the
    softmax over the h*w positions of one channel at temperature tau. With
    ``standardize`` each channel's map is first z-scored over its h*w
    positions (:func:`.utils.z_score`)."""
    b, c = student.shape[:2]
    student, teacher = student.reshape(b * c, -1), teacher.reshape(b * c, -1)
    if standardize:
        student, teacher = z_score(student, 1), z_score(teacher, 1)
    kl = kl_divergence(student, teacher, 1, tau)
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

    With ``logit_standardization=True`` (Sun et al., "Logit Standardization
    in Knowledge Distillation", CVPR 2024, applied here to CWD's spatial
    distributions) each channel's h*w values, student and teacher alike, are
    z-scored over the positions before the tempered softmax,
    :math:`\\phi(z)_i = \\mathrm{softmax}_i((z_i - \\bar z) /
    (\\sigma(z) \\tau))`: tau is then the paper's *base temperature* (each
    channel's effective temperature is tau * sigma(z)), and the tau^2 factor
    is kept, as the paper does.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        loss_weight (float): Defaults to 1.0.
        logit_standardization (bool): z-score each channel over its
            positions first (see above). Defaults to False.
    """

    def __init__(self,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 logit_standardization: bool = False) -> None:
        super().__init__(loss_weight)
        self.tau = tau
        self.logit_standardization = logit_standardization

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_maps(student, teacher, 'ChannelWiseDivergence')
        check_same_shape(student, teacher, 'ChannelWiseDivergence')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return channel_wise_divergence(student, teacher, self.tau,
                                       self.logit_standardization)

    def extra_repr(self) -> str:
        ls = ', logit_standardization=True' \
            if self.logit_standardization else ''
        return f'tau={self.tau}, loss_weight={self.loss_weight}{ls}'
