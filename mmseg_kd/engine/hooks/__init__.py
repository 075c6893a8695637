# Copyright (c) mmseg_kd contributors. All rights reserved.
from .export_student_hook import ExportStudentHook

__all__ = ['ExportStudentHook']
