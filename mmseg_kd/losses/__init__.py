# Copyright (c) mmseg_kd contributors. All rights reserved.
from .adversarial import AdversarialDistillLoss, Critic, CriticNetwork
from .at_loss import ATLoss, attention_transfer
from .base import DistillLoss
from .cgd_loss import (CGDLoss, channel_group_divergence,
                       channel_group_log_softmax, channel_group_softmax)
from .cirkd_memory_loss import CIRKDMemoryLoss, memory_contrast_kl
from .cirkd_minibatch_loss import (CIRKDMiniBatchLoss,
                                   minibatch_pixel_relation_kl)
from .cwd_loss import ChannelWiseDivergence, channel_wise_divergence
from .dist_loss import DISTLoss, dist_relations
from .dsd_category_similarity_loss import (DSDCategorySimilarityLoss,
                                           category_similarity,
                                           category_similarity_distillation)
from .dsd_pixel_similarity_loss import (DSDPixelSimilarityLoss,
                                        pixel_similarity_distillation,
                                        residual_attention_maps)
from .fitnet_loss import FitNetLoss, feature_mse
from .ifvd_loss import IFVDLoss, ifvd, intra_class_feature_variation
from .kd_loss import KDLoss, pixel_kd
from .mgd_loss import MGDLoss, masked_generation_mse, random_spatial_mask
from .prerelu_attention_loss import (PreReLUAttentionLoss,
                                     normalized_attention,
                                     prerelu_attention_distillation)
from .relation_kl import chunked_relation_kl
from .skd_adversarial_loss import (SKDAdversarialLoss, SKDCritic, critic_loss,
                                   generator_loss, gradient_penalty)
from .skd_pairwise_loss import (SKDPairWiseLoss, graph_pool, graph_pool_kernel,
                                pairwise_similarity_distillation)
from .skd_pixel_loss import SKDPixelWiseLoss, skd_pixel_wise
from .utils import attention_map

__all__ = [
    'DistillLoss', 'AdversarialDistillLoss', 'Critic', 'CriticNetwork',
    'SKDCritic', 'KDLoss', 'pixel_kd', 'ChannelWiseDivergence',
    'channel_wise_divergence', 'SKDPixelWiseLoss', 'skd_pixel_wise',
    'SKDPairWiseLoss', 'pairwise_similarity_distillation', 'graph_pool',
    'graph_pool_kernel', 'PreReLUAttentionLoss',
    'prerelu_attention_distillation', 'normalized_attention', 'ATLoss',
    'attention_map', 'attention_transfer', 'FitNetLoss', 'feature_mse',
    'IFVDLoss', 'ifvd', 'intra_class_feature_variation', 'CGDLoss',
    'channel_group_divergence', 'channel_group_log_softmax',
    'channel_group_softmax', 'DISTLoss', 'dist_relations',
    'CIRKDMiniBatchLoss', 'minibatch_pixel_relation_kl', 'CIRKDMemoryLoss',
    'memory_contrast_kl', 'chunked_relation_kl', 'SKDAdversarialLoss',
    'generator_loss', 'critic_loss', 'gradient_penalty',
    'DSDPixelSimilarityLoss', 'DSDCategorySimilarityLoss',
    'residual_attention_maps', 'pixel_similarity_distillation',
    'category_similarity', 'category_similarity_distillation', 'MGDLoss',
    'masked_generation_mse', 'random_spatial_mask'
]
