# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_maps, check_same_shape, kl_divergence

_FORMS = ('cross_entropy', 'kl')
_REDUCTIONS = ('batch_sum', 'pixel_mean')


def skd_pixel_wise(student_logits: Tensor,
                   teacher_logits: Tensor,
                   tau: float = 1.0,
                   form: str = 'cross_entropy',
                   reduction: str = 'batch_sum') -> Tensor:
    """SKD pixel-wise distillation of (B, K, h, w) logits (any trailing
    spatial dims), with p = softmax over classes (dim 1) at temperature tau.

    Per pixel: ``form='cross_entropy'`` gives -sum_k p^T_k log p^S_k,
    ``form='kl'`` gives sum_k p^T_k (log p^T_k - log p^S_k); either is
    multiplied by tau^2. ``reduction='batch_sum'`` sums over the batch and
    averages over the h*w pixels of an image (the SKD reference);
    ``'pixel_mean'`` averages over all B*h*w pixels.
    """
    if form == 'cross_entropy':
        log_p_s = F.log_softmax(student_logits / tau, dim=1)
        p_t = F.softmax(teacher_logits / tau, dim=1)
        per_pixel = -(p_t * log_p_s).sum(dim=1)
    else:
        per_pixel = kl_divergence(student_logits, teacher_logits, 1, tau)
    per_pixel = tau**2 * per_pixel
    if reduction == 'batch_sum':
        return per_pixel.sum() * per_pixel.shape[0] / per_pixel.numel()
    return per_pixel.mean()


@MODELS.register_module()
class SKDPixelWiseLoss(DistillLoss):
    """Pixel-wise term of Structured Knowledge Distillation, SKD (Liu et
    al., "Structured Knowledge Distillation for Semantic Segmentation",
    CVPR 2019; TPAMI 2020), as in the reference code's master branch.

    With :math:`p_{b,i} = \\mathrm{softmax}(z_{b,i}/\\tau)` over the K
    classes of pixel i of image b:

    .. math::
        L = \\tau^2 \\frac{1}{h w} \\sum_{b=1}^{B} \\sum_{i=1}^{h w}
            \\sum_{k=1}^{K} -p^T_{b,k,i} \\log p^S_{b,k,i}

    a soft-target cross-entropy, **summed over the batch** and averaged over
    the pixels of an image (``reduction='batch_sum'``, the reference; with
    B images per GPU the value is B times the per-pixel mean, so the
    reference's loss_weight 10 at 2 images per GPU is 20 in per-pixel-mean
    units). ``reduction='pixel_mean'`` averages over all B*h*w pixels.

    ``form='kl'`` subtracts the teacher entropy (KL instead of
    cross-entropy): same gradient, a value that is 0 when the student equals
    the teacher. The reference has no temperature (tau = 1); with another
    tau the loss is multiplied by tau^2, as in Hinton's KD. All pixels are
    used (no ignore handling, as the reference). Reference defaults:
    loss_weight 10 on the main 1/8 logits (``decode_head.conv_seg``).

    Args:
        tau (float): Temperature. Defaults to 1.0 (the reference).
        form (str): ``'cross_entropy'`` (the reference) or ``'kl'``.
        reduction (str): ``'batch_sum'`` (the reference) or
            ``'pixel_mean'``.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 1.0,
                 form: str = 'cross_entropy',
                 reduction: str = 'batch_sum',
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if form not in _FORMS:
            raise ValueError(f'SKDPixelWiseLoss form must be one of {_FORMS},'
                             f' got {form!r}.')
        if reduction not in _REDUCTIONS:
            raise ValueError('SKDPixelWiseLoss reduction must be one of '
                             f'{_REDUCTIONS}, got {reduction!r}.')
        if tau <= 0:
            raise ValueError(f'SKDPixelWiseLoss tau must be > 0, got {tau}.')
        self.tau = tau
        self.form = form
        self.reduction = reduction
        self.sums_over_batch = reduction == 'batch_sum'

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_maps(student, teacher, 'SKDPixelWiseLoss', 'logits')
        check_same_shape(student, teacher, 'SKDPixelWiseLoss', 'logits')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return skd_pixel_wise(student, teacher, self.tau, self.form,
                              self.reduction)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, form={self.form!r}, '
                f'reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')
