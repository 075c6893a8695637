# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional, Union

from mmcv.cnn import ConvModule
from mmseg.registry import MODELS
from torch import Tensor

from .base import Connector


@MODELS.register_module()
class ChannelConnector(Connector):
    """Map a student feature map to the teacher's channel count with a 1x1
    convolution followed by a normalisation layer (and optionally an
    activation), as the feature connectors of CWD/CIRKD/FitNet do.

    ``in_channels`` and ``out_channels`` may be left out in a config: the
    distiller fills them from the shapes it probes when the model is built.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        norm_cfg (dict, optional): Norm layer after the conv; None for a bare
            conv (FitNet's regressor). Defaults to ``dict(type='BN')``.
        act_cfg (dict, optional): Activation after the norm. Defaults to None.
        bias (bool | str): Conv bias; ``'auto'`` adds one only without norm.
        init_cfg (dict, optional): mmengine init config.
    """

    probed_channels = ('in_channels', 'out_channels')

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = None,
                 bias: Union[bool, str] = 'auto',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.proj = ConvModule(
            in_channels,
            out_channels,
            kernel_size=1,
            bias=bias,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        """Args:
            x (Tensor): Student map (B, C_s, H, W).
            target (Tensor, optional): Unused; part of the connector API.

        Returns:
            Tensor: (B, C_t, H, W).
        """
        if x.dim() != 4:
            raise ValueError(
                f'ChannelConnector expects a (B, C, H, W) map, got shape '
                f'{tuple(x.shape)}; put TokensToMap before it for (B, N, C) '
                'tokens.')
        return self.proj(x)
