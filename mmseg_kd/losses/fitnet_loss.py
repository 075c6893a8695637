# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_same_shape


def feature_mse(student: Tensor, teacher: Tensor) -> Tensor:
    """Mean over all elements of (s - t)^2 for two tensors of one shape."""
    return (student - teacher).pow(2).mean()


@MODELS.register_module()
class FitNetLoss(DistillLoss):
    """FitNets hint loss (Romero et al., "FitNets: Hints for Thin Deep
    Nets", ICLR 2015): the student feature, mapped to the teacher's channels
    by a regressor r, should equal the teacher feature.

    .. math::
        L = \\frac{1}{B C h w} \\sum_{b,c,y,x}
            (r(f^S)_{b,c,y,x} - f^T_{b,c,y,x})^2

    Reduction: mean over all B*C*h*w elements (CIRKD's ``losses/fitnet.py``).
    CIRKD uses it on the head feature with loss_weight = 10 (plus KD with
    weight 1).

    The regressor is not part of the loss: it is the student tensor's
    connector. FitNet's is a bare 1x1 conv without bias::

        connectors=dict(feat=dict(type='ChannelConnector', norm_cfg=None,
                                  bias=False))

    Args:
        loss_weight (float): Defaults to 1.0.
    """

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        try:
            check_same_shape(student, teacher, 'FitNetLoss', 'features')
        except ValueError as err:
            if student.dim() == teacher.dim() == 4 and \
                    student.shape[1] != teacher.shape[1]:
                raise ValueError(
                    f"{err} FitNet's regressor is a bare 1x1 conv without "
                    'bias: connectors=dict(<student tensor>=dict(type='
                    "'ChannelConnector', norm_cfg=None, bias=False)).") \
                    from None
            raise

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return feature_mse(student, teacher)
