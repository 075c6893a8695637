# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The normalisation + activation pair that follows every convolution of
ESPNet (batch norm and a per-channel PReLU in the paper)."""
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor


def build_act(act_cfg: OptConfigType, channels: int) -> nn.Module:
    """An activation layer; a PReLU gets one slope per channel (the paper's
    PReLU) unless ``act_cfg`` sets ``num_parameters`` itself; ``None`` gives
    the identity."""
    if act_cfg is None:
        return nn.Identity()
    cfg = dict(act_cfg)
    if cfg['type'] == 'PReLU':
        cfg.setdefault('num_parameters', channels)
    return build_activation_layer(cfg)


class NormAct(nn.Module):
    """Normalisation followed by an activation (ESPNet's "BR" pair).

    Args:
        channels (int): Number of channels.
        norm_cfg (dict): Normalisation layer config.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        act_cfg (dict, optional): Activation config; ``None`` for none.
            Defaults to ``dict(type='PReLU')`` (one slope per channel).

    Returns:
        Tensor: ``act(norm(x))``, the shape of ``x``.
    """

    def __init__(
        self,
        channels: int,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        act_cfg: OptConfigType = dict(type='PReLU')
    ) -> None:
        super().__init__()
        self.norm = build_norm_layer(norm_cfg, channels)[1]
        self.act = build_act(act_cfg, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(x))


class ConvNormAct(nn.Module):
    """A bias-free k x k convolution ("same" padding) followed by
    :class:`NormAct` (ESPNet's "CBR" layer).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Odd kernel size.
        stride (int): Stride. Defaults to 1.
        norm_cfg (dict): Normalisation layer config.
        act_cfg (dict, optional): Activation config (PReLU by default).

    Returns:
        Tensor: (B, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        act_cfg: OptConfigType = dict(type='PReLU')
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=False)
        self.norm_act = NormAct(out_channels, norm_cfg, act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm_act(self.conv(x))
