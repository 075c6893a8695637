# Copyright (c) mmseg_kd contributors. All rights reserved.
from .data_preprocessor import DistillationDataPreprocessor
from .distillation_segmentor import DistillationSegmentor
from .model_loading import (CheckpointMismatchError, load_checkpoint_strict,
                            resolve_model_entry)

__all__ = [
    'DistillationSegmentor', 'DistillationDataPreprocessor',
    'CheckpointMismatchError', 'load_checkpoint_strict', 'resolve_model_entry'
]
