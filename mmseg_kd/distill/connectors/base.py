# Copyright (c) mmseg_kd contributors. All rights reserved.
from typing import Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor


class Connector(BaseModule):
    """Base of connectors: modules that map a recorded tensor to the shape
    of the tensor it is compared with, trained with the student (or, as
    teacher connectors, parameter-free).

    Attributes:
        probed_channels (tuple[str]): Constructor arguments that
            :func:`build_connector` fills in from the probed tensors when a
            config leaves them out: ``'in_channels'`` (the channels of the
            tensor transformed) and/or ``'out_channels'`` (of its target).
    """

    probed_channels: Tuple[str, ...] = ()

    def forward(self, x: Tensor, target: Optional[Tensor] = None) -> Tensor:
        """Args:
            x (Tensor): The tensor to transform.
            target (Tensor, optional): The tensor it is compared with.

        Returns:
            Tensor: ``x`` mapped to the target's shape.
        """
        raise NotImplementedError
