# Copyright (c) mmseg_kd contributors. All rights reserved.
"""mmseg_kd: knowledge distillation for mmsegmentation 1.x.

Importing the package registers its models, losses, datasets and hooks in
mmseg's registries, so a config only needs
``custom_imports = dict(imports=['mmseg_kd'], allow_failed_imports=False)``.
"""
from . import datasets, distill, engine, losses, segmentors  # noqa: F401
from .utils import register_checkpoint_loader
from .version import __version__

# mmengine 0.10 cannot read its own checkpoints under torch >= 2.6 (resume,
# load_from); see mmseg_kd/utils/checkpoint.py.
register_checkpoint_loader()

__all__ = ['__version__']
