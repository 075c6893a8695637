# Copyright (c) mmseg_kd contributors. All rights reserved.
from .esp_block import ESPBlock, branch_widths, hierarchical_fusion
from .norm_act import ConvNormAct, NormAct, build_act

__all__ = [
    'ESPBlock', 'branch_widths', 'hierarchical_fusion', 'ConvNormAct',
    'NormAct', 'build_act'
]
