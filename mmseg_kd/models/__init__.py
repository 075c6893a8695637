# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Segmentation models that mmseg lacks, registered in mmseg's ``MODELS``
so that any mmseg config can use them: the ESPNet-C backbone
(``ESPNetC``) and the ESPNet decoder (``ESPNetHead``)."""
from .backbones import ESPNetC
from .decode_heads import ESPNetHead
from .utils import ESPBlock

__all__ = ['ESPNetC', 'ESPNetHead', 'ESPBlock']
