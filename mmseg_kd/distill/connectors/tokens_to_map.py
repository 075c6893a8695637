# Copyright (c) mmseg_kd contributors. All rights reserved.
import math
from typing import Optional, Sequence

from mmseg.registry import MODELS
from torch import Tensor

from .base import Connector


def infer_grid(num_tokens: int, target: Optional[Tensor]) -> tuple:
    """Find (H, W) with H * W == num_tokens, taking the aspect ratio of
    ``target`` (a (B, C, H', W') map); raises when it is ambiguous."""
    if target is not None and target.dim() == 4:
        th, tw = target.shape[-2:]
        if th * tw == num_tokens:
            return int(th), int(tw)
        h = int(round(math.sqrt(num_tokens * th / tw)))
        for cand in (h, h - 1, h + 1):
            if cand > 0 and num_tokens % cand == 0:
                w = num_tokens // cand
                if abs(cand / w - th / tw) <= 0.05 * th / tw:
                    return cand, w
    side = int(round(math.sqrt(num_tokens)))
    if side * side == num_tokens and (target is None or target.dim() != 4):
        return side, side
    raise ValueError(
        f'TokensToMap cannot tell the grid of {num_tokens} tokens' +
        (f' from a target of shape {tuple(target.shape)}'
         if target is not None else '') +
        '; give it explicitly: dict(type="TokensToMap", hw=(H, W)).')


@MODELS.register_module()
class TokensToMap(Connector):
    """Turn transformer tokens (B, N, C) into a map (B, C, H, W).

    Args:
        hw (Sequence[int], optional): The token grid (H, W). When None it is
            taken from the tensor this one is compared with (same H*W, or the
            same aspect ratio), or a square grid.
        num_extra_tokens (int): Leading tokens to drop first (e.g. 1 for a
            class token). Defaults to 0.
    """

    def __init__(self,
                 hw: Optional[Sequence[int]] = None,
                 num_extra_tokens: int = 0) -> None:
        super().__init__()
        self.hw = tuple(hw) if hw is not None else None
        self.num_extra_tokens = num_extra_tokens

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        """Args:
            x (Tensor): Tokens (B, N, C).
            target (Tensor, optional): The tensor compared with ``x``.

        Returns:
            Tensor: (B, C, H, W).
        """
        if x.dim() != 3:
            raise ValueError('TokensToMap expects (B, N, C) tokens, got '
                             f'shape {tuple(x.shape)}.')
        x = x[:, self.num_extra_tokens:]
        b, n, c = x.shape
        h, w = self.hw if self.hw is not None else infer_grid(n, target)
        if h * w != n:
            raise ValueError(f'TokensToMap: hw={self.hw} does not match '
                             f'{n} tokens.')
        return x.transpose(1, 2).reshape(b, c, h, w)
