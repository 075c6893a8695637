# Copyright (c) mmseg_kd contributors. All rights reserved.
from .discriminator_set import AdversarialInputs, DiscriminatorSet
from .sagan_discriminator import SAGANDiscriminator
from .self_attention import SelfAttention2d

__all__ = [
    'SAGANDiscriminator', 'SelfAttention2d', 'DiscriminatorSet',
    'AdversarialInputs'
]
