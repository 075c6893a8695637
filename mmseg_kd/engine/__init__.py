# Copyright (c) mmseg_kd contributors. All rights reserved.
from .export import export_student, save_student, student_state_dict
from .hooks import ExportStudentHook
from .optimizers import DistillationOptimWrapperConstructor

__all__ = [
    'ExportStudentHook', 'DistillationOptimWrapperConstructor',
    'export_student', 'save_student', 'student_state_dict'
]
