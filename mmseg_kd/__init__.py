# Copyright (c) mmseg_kd contributors. All rights reserved.
"""mmseg_kd: knowledge distillation for mmsegmentation 1.x.

Importing the package registers its models, losses, datasets and hooks in
mmseg's registries, so a config only needs
``custom_imports = dict(imports=['mmseg_kd'], allow_failed_imports=False)``.
"""
from . import (apis, datasets, distill, engine, losses, models, segmentors,
               visualization)
from .version import __version__

__all__ = [
    '__version__', 'apis', 'datasets', 'distill', 'engine', 'losses', 'models',
    'segmentors', 'visualization'
]
