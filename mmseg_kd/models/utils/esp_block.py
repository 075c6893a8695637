# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The efficient spatial pyramid (ESP) module of ESPNet (Mehta et al.,
ECCV 2018), plain and strided."""
from typing import List, Optional

import torch
import torch.nn as nn
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from .norm_act import NormAct


def branch_widths(out_channels: int, num_branches: int) -> List[int]:
    """Output channels of the K dilated branches: d = floor(N / K) each, the
    first (dilation 1) branch also taking the remainder N - K * d so that
    the concatenation has exactly N channels."""
    d = out_channels // num_branches
    if d < 1:
        raise ValueError(f'An ESP module with {num_branches} branches needs '
                         f'at least {num_branches} output channels, got '
                         f'{out_channels}.')
    return [out_channels - (num_branches - 1) * d] + [d] * (num_branches - 1)


def hierarchical_fusion(branches: List[Tensor]) -> Tensor:
    """Hierarchical feature fusion (HFF): the dilated branches are summed
    cumulatively, ``y_k = o_2 + ... + o_k`` for k >= 2, and concatenated
    after the undilated branch: ``[o_1, y_2, ..., y_K]``. Each sum adds the
    next larger receptive field to all smaller ones, which removes the
    gridding artefacts of a lone large dilation."""
    fused, running = [branches[0]], None
    for out in branches[1:]:
        running = out if running is None else running + out
        fused.append(running)
    return torch.cat(fused, dim=1)


class ESPBlock(nn.Module):
    """ESP module: reduce, split, transform, merge.

    Reduce: a bias-free 1x1 convolution maps the M input channels to
    d = N / K (a 3x3 convolution with stride 2 in the strided variant,
    which halves the resolution, "same" padding, so H -> ceil(H / 2)).
    Split and transform: K parallel bias-free 3x3 convolutions with dilation
    rates 2^(k-1), k = 1..K, each on the d reduced channels. Merge:
    hierarchical feature fusion (:func:`hierarchical_fusion`) and
    concatenation back to N channels, plus the input when the shapes match
    (``residual``), then batch norm and PReLU.

    Args:
        in_channels (int): Input channels M.
        out_channels (int): Output channels N (at least K).
        num_branches (int): Number of dilated branches K. Defaults to 5.
        stride (int): 1, or 2 for the strided (down-sampling) ESP module.
            Defaults to 1.
        residual (bool, optional): Add the input to the merged output.
            ``None`` (default): when possible (stride 1 and M == N).
        norm_cfg (dict): Normalisation layer config.
        act_cfg (dict, optional): Activation config (per-channel PReLU by
            default).

    Returns:
        Tensor: (B, N, H, W) for stride 1, (B, N, ceil(H/2), ceil(W/2)) for
        stride 2.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_branches: int = 5,
        stride: int = 1,
        residual: Optional[bool] = None,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        act_cfg: OptConfigType = dict(type='PReLU')
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'ESPBlock stride must be 1 or 2, got {stride}.')
        shapes_match = stride == 1 and in_channels == out_channels
        if residual is None:
            residual = shapes_match
        elif residual and not shapes_match:
            raise ValueError(
                'ESPBlock residual needs stride 1 and in_channels == '
                f'out_channels, got stride {stride}, {in_channels} -> '
                f'{out_channels}.')
        self.residual = residual
        widths = branch_widths(out_channels, num_branches)
        reduced = widths[-1]
        kernel = 1 if stride == 1 else 3
        self.reduce = nn.Conv2d(
            in_channels,
            reduced,
            kernel,
            stride=stride,
            padding=kernel // 2,
            bias=False)
        self.branches = nn.ModuleList(
            nn.Conv2d(
                reduced, width, 3, padding=2**k, dilation=2**k, bias=False)
            for k, width in enumerate(widths))
        self.norm_act = NormAct(out_channels, norm_cfg, act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        reduced = self.reduce(x)
        out = hierarchical_fusion(
            [branch(reduced) for branch in self.branches])
        if self.residual:
            out = out + x
        return self.norm_act(out)
