# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .relation_kl import chunked_relation_kl
from .utils import check_same_spatial


def minibatch_pixel_relation_kl(student: Tensor,
                                teacher: Tensor,
                                tau: float = 0.1,
                                pool: bool = False,
                                chunk: Optional[int] = 1024) -> Tensor:
    """CIRKD's mini-batch pixel-to-pixel term.

    Per-pixel L2-normalised features F_i (hw x C) of every image; for every
    ordered pair (i, j) of the batch, i = j included, the rows of
    A_ij = F_i F_j^T / tau are compared with a row-wise KL; mean over rows,
    then over the B^2 pairs. Computed in row chunks with an analytic
    gradient (see :mod:`.relation_kl`), so no hw x hw map is kept.

    Args:
        student (Tensor): (B, Cs, h, w).
        teacher (Tensor): (B, Ct, h, w); channel counts may differ.
        tau (float): Similarity temperature (0.1).
        pool (bool): 2x2 average pooling first (the 2022 option).
        chunk (int, optional): Rows per chunk.

    Returns:
        Tensor: Scalar loss.
    """
    if pool:
        student = F.avg_pool2d(student, 2, 2)
        teacher = F.avg_pool2d(teacher, 2, 2)
    b = student.shape[0]
    fs = F.normalize(student.flatten(2), p=2, dim=1).transpose(1, 2)
    ft = F.normalize(teacher.flatten(2), p=2, dim=1).transpose(1, 2)
    rows = fs.shape[1]
    total = student.new_zeros(())
    for i in range(b):
        for j in range(b):
            total = total + chunked_relation_kl(
                fs[i], fs[j], ft[i], ft[j], tau, scale=1.0 / rows, chunk=chunk)
    return total / b**2


@MODELS.register_module()
class CIRKDMiniBatchLoss(DistillLoss):
    """CIRKD mini-batch pixel-to-pixel distillation (Yang et al.,
    "Cross-Image Relational Knowledge Distillation for Semantic
    Segmentation", CVPR 2022).

    .. math::
        L = \\frac{1}{B^2} \\sum_{i,j} \\frac{1}{hw} \\sum_r
            KL(\\mathrm{softmax}(A^T_{ij}[r]/\\tau) \\|
               \\mathrm{softmax}(A^S_{ij}[r]/\\tau)),
        \\quad A_{ij} = \\hat F_i \\hat F_j^T

    with per-pixel L2-normalised features; no tau^2 factor; pairs are taken
    within the local (per-GPU) batch, as in every released CIRKD version
    (its cross-GPU gather is commented out). All pixels are used. Defaults:
    tau = 0.1, loss_weight 1 on the head feature (DeepLabV3: after ASPP,
    3x3 conv, BN, ReLU, dropout, i.e. the input of ``decode_head.conv_seg``).

    Args:
        tau (float): Defaults to 0.1.
        pool (bool): 2x2 average pooling first. Defaults to False.
        chunk (int): Rows per chunk (memory: about 6 x chunk x h*w floats).
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 0.1,
                 pool: bool = False,
                 chunk: int = 1024,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        self.tau = tau
        self.pool = pool
        self.chunk = chunk

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_spatial(student, teacher, 'CIRKDMiniBatchLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return minibatch_pixel_relation_kl(student, teacher, self.tau,
                                           self.pool, self.chunk)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, pool={self.pool}, chunk={self.chunk}, '
                f'loss_weight={self.loss_weight}')
