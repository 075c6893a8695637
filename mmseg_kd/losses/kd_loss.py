# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import (check_labels, check_maps, check_same_shape, kl_divergence,
                    masked_mean, valid_mask, z_score)


def pixel_kd(student_logits: Tensor,
             teacher_logits: Tensor,
             tau: float = 1.0,
             standardize: bool = False) -> Tensor:
    """Per-pixel tau^2 * KL(softmax(z_t / tau) || softmax(z_s / tau)) over
    classes: (B, K, h, w) logits -> (B, h, w). With ``standardize`` each
    pixel's logit vector is first z-scored over the K classes
    (:func:`.utils.z_score`)."""
    if standardize:
        student_logits = z_score(student_logits, 1)
        teacher_logits = z_score(teacher_logits, 1)
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

    With ``logit_standardization=True`` (Sun et al., "Logit Standardization
    in Knowledge Distillation", CVPR 2024) the logit vector of every pixel,
    student and teacher alike, is z-scored over the K classes before the
    tempered softmax, :math:`\\mathrm{softmax}((z - \\bar z) / (\\sigma(z)
    \\tau))`: tau is then the paper's *base temperature* (each pixel's
    effective temperature is tau * sigma(z), so student and teacher no
    longer need logits of the same range), and the paper keeps the tau^2
    factor. Its CIFAR-100 commands use base temperature 2 (3 for some
    pairs) and KD weight 9 (CE weight 1); it has no segmentation setting.

    Args:
        tau (float): Temperature. Defaults to 1.0.
        reduction (str): ``'pixel_mean'`` or ``'element_mean'``.
        ignore_index (int, optional): When set, pixels labelled with it are
            excluded (labels are nearest-resized to the logits). An all-ignore
            batch gives zero. Defaults to None (all pixels, as the papers).
        loss_weight (float): Defaults to 1.0.
        logit_standardization (bool): z-score each pixel's logits over the
            classes first (see above). Defaults to False.
    """

    def __init__(self,
                 tau: float = 1.0,
                 reduction: str = 'pixel_mean',
                 ignore_index: Optional[int] = None,
                 loss_weight: float = 1.0,
                 logit_standardization: bool = False) -> None:
        super().__init__(loss_weight)
        if reduction not in ('pixel_mean', 'element_mean'):
            raise ValueError("KDLoss reduction must be 'pixel_mean' or "
                             f"'element_mean', got {reduction!r}.")
        self.tau = tau
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.uses_labels = ignore_index is not None
        self.logit_standardization = logit_standardization

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_maps(student, teacher, 'KDLoss', 'logits')
        check_same_shape(student, teacher, 'KDLoss', 'logits')
        check_labels(labels, student, 'KDLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        per_pixel = pixel_kd(student, teacher, self.tau,
                             self.logit_standardization)
        loss = masked_mean(per_pixel, valid_mask(labels, self.ignore_index))
        if self.reduction == 'element_mean':
            loss = loss / student.shape[1]
        return loss

    def extra_repr(self) -> str:
        ls = ', logit_standardization=True' \
            if self.logit_standardization else ''
        return (f'tau={self.tau}, reduction={self.reduction!r}, '
                f'ignore_index={self.ignore_index}, '
                f'loss_weight={self.loss_weight}{ls}')
