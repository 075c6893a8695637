# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_labels, check_same_spatial, class_means, valid_mask


def intra_class_feature_variation(features: Tensor, labels: Tensor,
                                  num_classes: int) -> Tensor:
    """IFV map of one network: the cosine similarity of every pixel's
    feature to the mean feature of its class in the same image.

    Args:
        features (Tensor): (B, C, h, w) features.
        labels (Tensor): (B, h, w) long labels; values outside
            [0, num_classes) are ignored.
        num_classes (int): K.

    Returns:
        Tensor: (B, h, w) similarities, ``nn.CosineSimilarity(dim=1,
        eps=1e-8)`` of f and its class prototype; 1 at ignored pixels, the
        value cos(f, f) that the reference gets there by using f itself as
        the prototype (exactly, rather than up to rounding).
    """
    b, c = features.shape[:2]
    flat = features.reshape(b, c, -1)
    labels = labels.reshape(b, -1)
    valid = valid_mask(labels, num_classes=num_classes)
    prototypes = class_means(flat, labels, num_classes)  # (B, C, K + 1)
    bins = torch.where(valid, labels, torch.full_like(labels, num_classes))
    prototype_map = prototypes.gather(2, bins[:, None].expand(-1, c, -1))
    cos = F.cosine_similarity(flat, prototype_map, dim=1, eps=1e-8)
    cos = torch.where(valid, cos, torch.ones_like(cos))
    return cos.reshape(labels.shape[0], *features.shape[2:])


def ifvd(student: Tensor, teacher: Tensor, labels: Tensor,
         num_classes: int) -> Tensor:
    """Mean over the B*h*w pixels of (IFV^S - IFV^T)^2 (ignored pixels count
    in the denominator with zero error). Each side's IFV map is computed in
    its own channel space, so the channel counts may differ."""
    ifv_s = intra_class_feature_variation(student, labels, num_classes)
    ifv_t = intra_class_feature_variation(teacher, labels, num_classes)
    return (ifv_s - ifv_t).pow(2).mean()


@MODELS.register_module()
class IFVDLoss(DistillLoss):
    """Intra-class feature variation distillation, IFVD (Wang et al.,
    "Intra-class Feature Variation Distillation for Semantic Segmentation",
    ECCV 2020).

    Per image b and class k present in it, the prototype is
    :math:`\\mu_{b,k} = \\sum_{i: y_i = k} f_{b,:,i} / (n_{b,k} + 10^{-6})`
    (prototypes per image, not per batch; the student's prototypes carry
    gradient). The IFV map is :math:`s_{b,i} = \\cos(f_{b,:,i},
    \\mu_{b,y_i})` (``nn.CosineSimilarity`` along channels, eps 1e-8) for
    labels in [0, K), and 1 elsewhere (the reference uses f itself as the
    prototype there). Student and teacher each use their own channel space;

    .. math::
        L = \\frac{1}{B h w} \\sum_{b,i} (s^S_{b,i} - s^T_{b,i})^2

    Reduction: mean over all B*h*w pixels, ignored ones included with zero
    error (as the reference); an all-ignore batch gives 0. Labels are the
    ground truth nearest-resized to the features (done by the distiller).
    Computed with scatter-add over classes: O(B*C*(K + h*w)) memory, no loop
    over K. Reference defaults: the PSP module output
    (``decode_head.bottleneck`` in mmseg) of both networks, loss_weight 200,
    together with a KDLoss (``reduction='element_mean'``, weight 10) and the
    SKD adversarial term.

    Args:
        num_classes (int): K; labels outside [0, K) (e.g. 255) are ignored.
        loss_weight (float): Defaults to 1.0.
    """

    uses_labels = True

    def __init__(self, num_classes: int, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if int(num_classes) < 1:
            raise ValueError('IFVDLoss num_classes must be >= 1, got '
                             f'{num_classes}.')
        self.num_classes = int(num_classes)

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_spatial(student, teacher, 'IFVDLoss')
        check_labels(labels, student, 'IFVDLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        if labels is None:
            raise ValueError(
                'IFVDLoss needs (B, h, w) labels at the features\' size: pass'
                ' the labels nearest-resized to the features (the distiller '
                'does this).')
        return ifvd(student, teacher, labels.long(), self.num_classes)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'loss_weight={self.loss_weight}')
