# Copyright (c) mmseg_kd contributors. All rights reserved.
from .at_loss import ATLoss, attention_map, attention_transfer
from .base import DistillLoss
from .cwd_loss import ChannelWiseDivergence, channel_wise_divergence
from .fitnet_loss import FitNetLoss, feature_mse
from .kd_loss import KDLoss, pixel_kd
from .prerelu_attention_loss import (PreReLUAttentionLoss,
                                     normalized_attention,
                                     prerelu_attention_distillation)
from .skd_pairwise_loss import (SKDPairWiseLoss, graph_pool,
                                graph_pool_kernel,
                                pairwise_similarity_distillation)
from .skd_pixel_loss import SKDPixelWiseLoss, skd_pixel_wise

__all__ = [
    'DistillLoss', 'KDLoss', 'pixel_kd', 'ChannelWiseDivergence',
    'channel_wise_divergence', 'SKDPixelWiseLoss', 'skd_pixel_wise',
    'SKDPairWiseLoss', 'pairwise_similarity_distillation', 'graph_pool',
    'graph_pool_kernel', 'PreReLUAttentionLoss',
    'prerelu_attention_distillation', 'normalized_attention',
    'ATLoss', 'attention_map', 'attention_transfer', 'FitNetLoss',
    'feature_mse'
]
