# Copyright (c) mmseg_kd contributors. All rights reserved.
from .batch_size_check_hook import BatchSizeCheckHook, batch_in_name
from .export_student_hook import ExportStudentHook
from .log_first_iteration_hook import LogFirstIterationHook
from .resumable_checkpoint_hook import ResumableCheckpointHook

__all__ = [
    'BatchSizeCheckHook', 'ExportStudentHook', 'LogFirstIterationHook',
    'ResumableCheckpointHook', 'batch_in_name'
]
