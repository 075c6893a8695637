# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ...losses.adversarial import CriticNetwork
from .self_attention import SelfAttention2d

_PREPROCESS = ('bn', 'tanh', 'scale', 'none', 'softmax_image')


@MODELS.register_module()
class SAGANDiscriminator(BaseModule, CriticNetwork):
    """The discriminator of SKD's holistic distillation (Liu et al.,
    "Structured Knowledge Distillation for Semantic Segmentation", CVPR
    2019 / TPAMI 2020): a SAGAN-style critic of segmentation maps.

    Layers: input preprocessing; three spectral-normalised 4x4 stride-2
    convolutions (in -> d -> 2d -> 4d, LeakyReLU 0.1); self-attention(4d);
    a fourth one (4d -> 8d); self-attention(8d); a plain 4x4 convolution
    without padding to one channel. For 65x65 logits the output is one score
    per image (65 -> 32 -> 16 -> 8 -> 4 -> 1); larger maps give a score map.
    Spectral norm is torch's own (one power iteration per forward).

    Preprocessing (``preprocess``):

    * ``'bn'``: BatchNorm over the raw logits (SKD master, the default);
    * ``'tanh'``: tanh of the logits; ``'scale'``: 2 (x / 255 - 0.5);
      ``'none'``: raw logits;
    * ``'softmax_image'``: the CVPR'19 variant, the input image (bilinearly
      resized to the logits) concatenated with the softmax of the logits;
      ``in_channels`` is then K + 3.

    Maps smaller than ``min_size`` are zero-padded (bottom/right, after
    preprocessing) so the four stride-2 convolutions and the final 4x4
    convolution have room; 64 keeps every layer at least 4x4.

    Args:
        in_channels (int): Channels of the critic's input (K logits, or
            K + 3 for ``'softmax_image'``).
        base_channels (int): d (``conv_dim``). Defaults to 64.
        preprocess (str): See above. Defaults to ``'bn'``.
        min_size (int): Defaults to 64.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 base_channels: int = 64,
                 preprocess: str = 'bn',
                 min_size: int = 64,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if preprocess not in _PREPROCESS:
            raise ValueError(f'preprocess must be one of {_PREPROCESS}, got '
                             f'{preprocess!r}.')
        self.in_channels = in_channels
        self.preprocess_mode = preprocess
        self.min_size = min_size
        self.norm = nn.BatchNorm2d(in_channels) if preprocess == 'bn' \
            else None
        d = base_channels

        def down(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)),
                nn.LeakyReLU(0.1))

        self.l1 = down(in_channels, d)
        self.l2 = down(d, 2 * d)
        self.l3 = down(2 * d, 4 * d)
        self.attn1 = SelfAttention2d(4 * d)
        self.l4 = down(4 * d, 8 * d)
        self.attn2 = SelfAttention2d(8 * d)
        self.last = nn.Conv2d(8 * d, 1, 4)

    def penalty_inputs(
        self,
        student: Tensor,
        teacher: Tensor,
        image: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor, Callable[[Tensor], Tensor]]:
        """The gradient penalty is taken w.r.t. the preprocessed input with
        ``preprocess='softmax_image'`` (the CVPR'19 image-and-softmax
        input), else w.r.t. the raw logits (SKD master: the BatchNorm
        preprocessing inside the graph).

        Returns:
            tuple: (student point, teacher point, score function).
        """
        if self.preprocess_mode != 'softmax_image':
            return super().penalty_inputs(student, teacher, image)
        return (self.preprocess(student,
                                image), self.preprocess(teacher,
                                                        image), self.critic)

    def preprocess(self,
                   logits: Tensor,
                   image: Optional[Tensor] = None) -> Tensor:
        """The critic's input for (B, K, h, w) logits."""
        mode = self.preprocess_mode
        expected = self.in_channels - (3 if mode == 'softmax_image' else 0)
        if logits.shape[1] != expected:
            raise ValueError(
                f'SAGANDiscriminator was built for {expected} classes '
                f'({self.in_channels} input channels), got logits with '
                f'{logits.shape[1]}.')
        if mode == 'bn':
            x = self.norm(logits)
        elif mode == 'tanh':
            x = torch.tanh(logits)
        elif mode == 'scale':
            x = 2 * (logits / 255.0 - 0.5)
        elif mode == 'softmax_image':
            if image is None:
                raise ValueError(
                    "preprocess='softmax_image' needs the input image: "
                    'record it (e.g. image=dict(path=\'backbone\', '
                    "side='input')) and give the adversarial loss "
                    "image='image'.")
            image = F.interpolate(
                image,
                size=logits.shape[-2:],
                mode='bilinear',
                align_corners=False)
            x = torch.cat([image, torch.softmax(logits, dim=1)], dim=1)
        else:
            x = logits
        return x

    def critic(self, x: Tensor) -> Tensor:
        """Scores of preprocessed inputs: (B, 1, h', w')."""
        pad_h = max(self.min_size - x.shape[-2], 0)
        pad_w = max(self.min_size - x.shape[-1], 0)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        x = self.l3(self.l2(self.l1(x)))
        x = self.attn2(self.l4(self.attn1(x)))
        return self.last(x)

    def forward(self,
                logits: Tensor,
                image: Optional[Tensor] = None) -> Tensor:
        """Args:
            logits (Tensor): (B, K, h, w) segmentation logits.
            image (Tensor, optional): (B, 3, H, W), for ``'softmax_image'``.

        Returns:
            Tensor: (B, 1, h', w') scores.
        """
        return self.critic(self.preprocess(logits, image))
