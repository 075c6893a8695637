# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_same_shape, kl_divergence, masked_mean, valid_mask


def pixel_kd(student_logits: Tensor,
             teacher_logits: Tensor,
             tau: float = 1.0) -> Tensor:
    """Per-pixel tau^2 * KL(softmax(z_t / tau) || softmax(z_s / tau)) over
    classes: (B, K, h, w) logits -> (B, h, w)."""
    return tau**2 * kl_divergence(student_logits, teacher_logits, 1, tau)


@MODELS.register_module()
class KDLoss(DistillLoss):
    """Pixel-wise knowledge distillation (Hinton et al., 2015, applied to
    every pixel of a segmentation map).

    .. math::
        L = \\tau^2 \\frac{1}{|V|} \\sum_{i \\in V} KL(
            \\mathrm{softmax}(z^T_i/\\tau) \\|
            \\mathrm{softmax}(z^S_i/\\tau))

    Reduction ``'pixel_mean'`` (default): mean over the B*h*w pixels V (only
    the non-ignored ones when ``ignore_index`` is set); this is CIRKD's KD
    term (``batchmean`` over pixel rows, tau = 1, weight 1).
    ``'element_mean'`` additionally divides by K (``nn.KLDivLoss``'s default
    ``'mean'``), the KD term of IFVD (weight 10).

    Args:
        tau (float): Temperature. Defaults to 1.0.
        reduction (str): ``'pixel_mean'`` or ``'element_mean'``.
        ignore_index (int, optional): When set, pixels labelled with it are
            excluded (labels are nearest-resized to the logits). An all-ignore
            batch gives zero. Defaults to None (all pixels, as the papers).
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 1.0,
                 reduction: str = 'pixel_mean',
                 ignore_index: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if reduction not in ('pixel_mean', 'element_mean'):
            raise ValueError("KDLoss reduction must be 'pixel_mean' or "
                             f"'element_mean', got {reduction!r}.")
        self.tau = tau
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.uses_labels = ignore_index is not None

    def check_inputs(self, student: Tensor, teacher: Tensor) -> None:
        check_same_shape(student, teacher, 'KDLoss', 'logits')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        per_pixel = pixel_kd(student, teacher, self.tau)
        loss = masked_mean(per_pixel, valid_mask(labels, self.ignore_index))
        if self.reduction == 'element_mean':
            loss = loss / student.shape[1]
        return loss

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, reduction={self.reduction!r}, '
                f'ignore_index={self.ignore_index}, '
                f'loss_weight={self.loss_weight}')
