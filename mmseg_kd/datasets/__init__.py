# Copyright (c) mmseg_kd contributors. All rights reserved.
from .camvid import CamVidDataset
from .synthetic_shapes import SyntheticShapesDataset, generate_shapes_dataset

__all__ = [
    'CamVidDataset', 'SyntheticShapesDataset', 'generate_shapes_dataset'
]
