# Copyright (c) mmseg_kd contributors. All rights reserved.
import torch
from torch import Tensor, nn


class SelfAttention2d(nn.Module):
    """SAGAN self-attention (Zhang et al., 2019) over the positions of a map.

    query and key are 1x1 convolutions to C/8 channels, value a 1x1
    convolution to C; attention = softmax over positions of query^T key;
    out = gamma * (value @ attention^T) + x, with gamma initialised to 0 so
    the block starts as the identity.

    Args:
        channels (int): C.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): (B, C, H, W).

        Returns:
            Tensor: (B, C, H, W).
        """
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, N)
        attention = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, N, N)
        v = self.value(x).flatten(2)  # (B, C, N)
        out = torch.bmm(v, attention.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + x
