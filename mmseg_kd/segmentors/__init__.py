# Copyright (c) mmseg_kd contributors. All rights reserved.
from .data_preprocessor import DistillationDataPreprocessor
from .distillation_segmentor import DistillationSegmentor, DistillStep
from .frozen_teacher import FrozenTeacher, TeacherGroup
from .model_loading import resolve_model_entry

__all__ = [
    'DistillationSegmentor', 'DistillStep', 'DistillationDataPreprocessor',
    'FrozenTeacher', 'TeacherGroup', 'resolve_model_entry'
]
