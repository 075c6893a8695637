# Copyright (c) mmseg_kd contributors. All rights reserved.
from .base import DistillLoss
from .cwd_loss import ChannelWiseDivergence, channel_wise_divergence
from .kd_loss import KDLoss, pixel_kd

__all__ = [
    'DistillLoss', 'KDLoss', 'pixel_kd', 'ChannelWiseDivergence',
    'channel_wise_divergence'
]
