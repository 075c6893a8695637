# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..utils import ConvNormAct, ESPBlock, NormAct


@MODELS.register_module()
class ESPNetC(BaseModule):
    """ESPNet-C, the encoder of ESPNet (Mehta et al., "ESPNet: Efficient
    Spatial Pyramid of Dilated Convolutions for Semantic Segmentation",
    ECCV 2018).

    Level 1 (stride 2): a 3x3 stride-2 convolution (BN, PReLU) to
    ``stem_channels``, concatenated with the image average-pooled to the
    same size (input-image reinforcement), then BN + PReLU.
    Level 2 (stride 4): a strided ESP module to ``channels[0]`` and
    ``num_blocks[0]`` (alpha_2) ESP modules; their output, the strided
    module's output and the image pooled once more are concatenated, then
    BN + PReLU. Level 3 (stride 8): the same with ``channels[1]`` and
    ``num_blocks[1]`` (alpha_3) ESP modules, no image. The image pyramid is
    3x3 stride-2 average pooling (padding 1) applied once and twice. All
    sizes round up: level l is ceil(H / 2^l) x ceil(W / 2^l). The
    concatenation orders follow the authors' release, so its weights map
    onto these modules one to one.

    The defaults are the paper's ESPNet-C with alpha_2 = 2, alpha_3 = 8 and
    K = 5 (0.344 M parameters; levels of 19, 131 and 256 channels). The
    classifier of the paper's stand-alone ESPNet-C is class dependent and
    belongs to the decode head (see ``ESPNetHead``).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        stem_channels (int): Channels of the level-1 convolution.
            Defaults to 16.
        channels (Sequence[int]): Channels of the ESP modules of levels 2
            and 3. Defaults to (64, 128).
        num_blocks (Sequence[int]): ESP modules after the strided one at
            levels 2 and 3 (alpha_2, alpha_3). Defaults to (2, 8).
        num_branches (int): Dilated branches K of every ESP module.
            Defaults to 5.
        norm_cfg (dict): Normalisation layer config.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        act_cfg (dict, optional): Activation config. Defaults to
            ``dict(type='PReLU')`` (one slope per channel).
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None (PyTorch's default initialisation, as the
            authors' release; ESPNet is trained from scratch).

    Returns:
        tuple[Tensor]: The three levels' features, of ``self.out_channels``
        = (stem_channels + in_channels, 2 * channels[0] + in_channels,
        2 * channels[1]) channels at strides 2, 4 and 8.
    """

    def __init__(self,
                 in_channels: int = 3,
                 stem_channels: int = 16,
                 channels: Sequence[int] = (64, 128),
                 num_blocks: Sequence[int] = (2, 8),
                 num_branches: int = 5,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 act_cfg: OptConfigType = dict(type='PReLU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(channels) != 2 or len(num_blocks) != 2:
            raise ValueError('ESPNetC takes two channels and two num_blocks '
                             '(levels 2 and 3), got '
                             f'{channels} and {num_blocks}.')
        c1 = stem_channels + in_channels
        c2 = 2 * channels[0] + in_channels
        c3 = 2 * channels[1]
        self.out_channels = (c1, c2, c3)
        common = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        esp = dict(num_branches=num_branches, **common)

        self.image_pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.level1 = ConvNormAct(in_channels, stem_channels, 3, 2, **common)
        self.level1_norm = NormAct(c1, **common)
        self.level2_down = ESPBlock(c1, channels[0], stride=2, **esp)
        self.level2 = nn.Sequential(*(ESPBlock(channels[0], channels[0], **esp)
                                      for _ in range(num_blocks[0])))
        self.level2_norm = NormAct(c2, **common)
        self.level3_down = ESPBlock(c2, channels[1], stride=2, **esp)
        self.level3 = nn.Sequential(*(ESPBlock(channels[1], channels[1], **esp)
                                      for _ in range(num_blocks[1])))
        self.level3_norm = NormAct(c3, **common)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        image2 = self.image_pool(x)
        image4 = self.image_pool(image2)
        out1 = self.level1_norm(torch.cat([self.level1(x), image2], dim=1))
        down2 = self.level2_down(out1)
        out2 = self.level2_norm(
            torch.cat([self.level2(down2), down2, image4], dim=1))
        down3 = self.level3_down(out2)
        out3 = self.level3_norm(torch.cat([down3, self.level3(down3)], dim=1))
        return out1, out2, out3
