# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy
from typing import List, Optional, Tuple, Union

import torch
from mmseg.registry import MODELS
from torch import Tensor, nn

from .base import Connector


def channels_of(x: Tensor) -> int:
    """Channel count of a (B, C, H, W) map or of (B, N, C) tokens."""
    return int(x.shape[-1] if x.dim() == 3 else x.shape[1])


class ConnectorChain(nn.ModuleList):
    """Connectors applied one after the other, each seeing the target.

    Built by :func:`build_connector`; an empty chain returns its input.
    """

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        """Apply every connector in order.

        Args:
            x (Tensor): The tensor to transform (the output of the previous
                connector for all but the first).
            target (Tensor, optional): The tensor ``x`` is compared with,
                passed to every connector.

        Returns:
            Tensor: The output of the last connector.
        """
        for connector in self:
            x = connector(x, target)
        return x


def build_connector(cfg: Union[dict, List[dict]], sample: Tensor,
                    target: Tensor) -> Tuple[ConnectorChain, Tensor]:
    """Build a connector (or a list of them) for a probed tensor pair.

    Missing ``in_channels``/``out_channels`` arguments are filled from the
    shapes of ``sample`` (the tensor the connector transforms) and ``target``
    (the tensor it is compared with).

    Returns:
        tuple: The :class:`ConnectorChain` and its output on ``sample``.
    """
    cfgs = cfg if isinstance(cfg, (list, tuple)) else [cfg]
    chain = ConnectorChain()
    x = sample
    for one in cfgs:
        one = copy.deepcopy(dict(one))
        cls = MODELS.get(one['type']) if isinstance(one['type'],
                                                    str) else one['type']
        if cls is None:
            raise KeyError(f"Unknown connector type {one['type']!r}; "
                           'available: ChannelConnector, ResizeConnector, '
                           'TokensToMap.')
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise TypeError(
                f'{getattr(cls, "__name__", cls)} is not a connector: '
                'subclass mmseg_kd.distill.Connector (forward(x, target); '
                'probed_channels names the channel arguments to fill in).')
        probed = dict(in_channels=x, out_channels=target)
        for arg in cls.probed_channels:
            if one.get(arg) is None:
                one[arg] = channels_of(probed[arg])
        connector = MODELS.build(one)
        connector.eval()
        with torch.no_grad():
            x = connector(x, target)
        connector.train()
        chain.append(connector)
    return chain, x
