# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base import Connector


@MODELS.register_module()
class ResizeConnector(Connector):
    """Resize a map to the spatial size of the tensor it is compared with,
    at run time (so one config serves every crop size).

    Args:
        mode (str): ``F.interpolate`` mode. Defaults to ``'bilinear'``.
        align_corners (bool): Defaults to False.
    """

    def __init__(self,
                 mode: str = 'bilinear',
                 align_corners: bool = False) -> None:
        super().__init__()
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        """Args:
            x (Tensor): (B, C, h, w) map.
            target (Tensor): The tensor whose (H, W) to match.

        Returns:
            Tensor: (B, C, H, W).
        """
        if target is None:
            raise ValueError('ResizeConnector needs the tensor to match.')
        size = tuple(target.shape[-2:])
        if tuple(x.shape[-2:]) == size:
            return x
        align = None if self.mode in ('nearest', 'area') else \
            self.align_corners
        return F.interpolate(x, size=size, mode=self.mode, align_corners=align)
