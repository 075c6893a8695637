# Copyright (c) mmseg_kd contributors. All rights reserved.
import math
from typing import Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import DistillLoss
from .utils import check_same_spatial, pairwise_cosine

KernelLike = Union[int, Sequence[int]]


def graph_pool_kernel(
        height: int,
        width: int,
        pool_scale: Optional[float] = 0.5,
        kernel_size: Optional[KernelLike] = None) -> Tuple[int, int]:
    """Kernel (= stride) of the max-pool that turns an h x w map into graph
    nodes: ``kernel_size`` when given (an int or (kh, kw)), otherwise
    (floor(pool_scale * h), floor(pool_scale * w)), at least 1."""
    if kernel_size is not None:
        if isinstance(kernel_size, int):
            return kernel_size, kernel_size
        kh, kw = kernel_size
        return int(kh), int(kw)
    return (max(1, math.floor(pool_scale * height)),
            max(1, math.floor(pool_scale * width)))


def graph_pool(features: Tensor, kernel: Tuple[int, int]) -> Tensor:
    """Max-pool with kernel = stride = ``kernel``, padding 0, ceil_mode=True
    (the last row/column of nodes may come from smaller windows)."""
    if kernel == (1, 1):
        return features
    return F.max_pool2d(
        features, kernel_size=kernel, stride=kernel, padding=0, ceil_mode=True)


def pairwise_similarity_distillation(student: Tensor,
                                     teacher: Tensor,
                                     pool_scale: Optional[float] = 0.5,
                                     kernel_size: Optional[KernelLike] = None,
                                     detach_norm: bool = True) -> Tensor:
    """SKD pair-wise distillation of (B, C_s, h, w) and (B, C_t, h, w) maps.

    Both maps are max-pooled into N' nodes (kernel from the teacher's size,
    see :func:`graph_pool_kernel`), a = cosine similarity of every node pair
    (B, N', N'), and the loss is the mean over B*N'*N' of (a^T - a^S)^2.
    """
    kernel = graph_pool_kernel(teacher.shape[2], teacher.shape[3], pool_scale,
                               kernel_size)
    pooled_s = graph_pool(student, kernel).flatten(2)
    pooled_t = graph_pool(teacher, kernel).flatten(2)
    sim_s = pairwise_cosine(pooled_s, detach_norm)
    sim_t = pairwise_cosine(pooled_t, detach_norm)
    return (sim_t - sim_s).pow(2).mean()


@MODELS.register_module()
class SKDPairWiseLoss(DistillLoss):
    """Pair-wise term of Structured Knowledge Distillation, SKD (Liu et al.,
    "Structured Knowledge Distillation for Semantic Segmentation", CVPR
    2019; TPAMI 2020), reference master ``sim_dis_compute``.

    Both feature maps are max-pooled into a graph of N' nodes (kernel =
    stride, padding 0, ``ceil_mode=True``). Node features are L2-normalised
    and

    .. math::
        a_{mn} = \\frac{f_m^\\top f_n}{(\\|f_m\\|_2 + \\epsilon)
                 (\\|f_n\\|_2 + \\epsilon)}, \\qquad
        L = \\frac{1}{B} \\sum_b \\frac{1}{N'^2} \\sum_{m,n}
            (a^T_{b,mn} - a^S_{b,mn})^2

    Reduction: mean over the batch and the N'^2 node pairs. Only the
    N' x N' matrices are compared, so teacher and student channel counts may
    differ; their spatial sizes must match (add a ResizeConnector if not).

    Variants:

    * SKD reference (default): ``pool_scale=0.5``, kernel =
      floor(0.5*h) x floor(0.5*w) from the teacher's size (65x65 -> kernel
      32 -> a 3x3 graph whose last row and column come from 1-pixel
      windows), ``detach_norm=True`` (divide by the norm + 1e-8 with no
      gradient through the norm). SKD master script: loss_weight 0.5 on the
      PSP module output (``decode_head.bottleneck``).
    * CIRKD re-implementation: ``kernel_size=2`` (a fixed 2x2 max-pool,
      64x128 -> 32x64 = 2048 nodes), ``detach_norm=False``
      (``F.normalize``, gradient through the norm). Not numerically
      comparable with the reference.

    The pair-wise term of "An Efficient Knowledge Distillation Architecture
    for Real-time Semantic Segmentation" (code: AmirMansurian/AICSD) is
    exactly this
    loss with the defaults, on the pre-ReLU ASPP output
    (``decode_head.bottleneck.bn`` in mmseg's DeepLabV3+), loss_weight 1;
    its pixel-wise term is :class:`PreReLUAttentionLoss`.

    Memory: the similarity matrices are O(N'^2) per image. 2x2 pooling at
    64x128 gives 2048 nodes (4.2M entries per image and network, fine);
    ``kernel_size=1`` (no pooling) at 64x128 would be 8192 nodes, 67M
    entries (268 MB in fp32) per image and network, plus the same again
    for the backward. Avoid no pooling on large maps.

    Args:
        pool_scale (float): Kernel as a fraction of the teacher's h and w
            (floored, at least 1). Defaults to 0.5 (the reference). Ignored
            when ``kernel_size`` is given.
        kernel_size (int | tuple[int, int], optional): A fixed pooling
            kernel (= stride) instead; 2 is CIRKD's variant, 1 disables
            pooling. Defaults to None.
        detach_norm (bool): No gradient through the L2 norm (the SKD
            reference) if True; ``F.normalize`` if False. Defaults to True.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self,
                 pool_scale: Optional[float] = 0.5,
                 kernel_size: Optional[KernelLike] = None,
                 detach_norm: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if kernel_size is None:
            if pool_scale is None or not 0 < pool_scale <= 1:
                raise ValueError(
                    'SKDPairWiseLoss pool_scale must be in (0, 1] (0.5 gives'
                    ' the reference 3x3 graph), or give kernel_size instead;'
                    f' got pool_scale={pool_scale}.')
        else:
            sizes = ((kernel_size, )
                     if isinstance(kernel_size, int) else tuple(kernel_size))
            if len(sizes) not in (1, 2) or not all(
                    isinstance(k, int) and k >= 1 for k in sizes):
                raise ValueError(
                    'SKDPairWiseLoss kernel_size must be a positive int or '
                    f'a pair of positive ints, got {kernel_size!r}.')
            # (k, ) and k are the same square kernel
            kernel_size = sizes if len(sizes) == 2 else sizes[0]
        self.pool_scale = pool_scale
        self.kernel_size = kernel_size
        self.detach_norm = detach_norm

    def check_inputs(self,
                     student: Tensor,
                     teacher: Tensor,
                     labels: Optional[Tensor] = None) -> None:
        check_same_spatial(student, teacher, 'SKDPairWiseLoss')

    def compute(self, student: Tensor, teacher: Tensor,
                labels: Optional[Tensor]) -> Tensor:
        return pairwise_similarity_distillation(student, teacher,
                                                self.pool_scale,
                                                self.kernel_size,
                                                self.detach_norm)

    def extra_repr(self) -> str:
        pooling = (f'kernel_size={self.kernel_size}' if self.kernel_size
                   is not None else f'pool_scale={self.pool_scale}')
        return (f'{pooling}, detach_norm={self.detach_norm}, '
                f'loss_weight={self.loss_weight}')
