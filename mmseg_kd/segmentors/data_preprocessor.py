# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy
from typing import Any, Dict, Mapping, Optional

from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

# Options that change the pixel values a model sees (not the geometry).
_VALUE_KEYS = ('mean', 'std', 'bgr_to_rgb', 'rgb_to_bgr', 'pad_val')


def _same_values(a: dict, b: dict) -> bool:
    if a.get('type') != b.get('type'):
        return False
    for key in _VALUE_KEYS:
        va, vb = a.get(key), b.get(key)
        if isinstance(va, (list, tuple)) and isinstance(vb, (list, tuple)):
            if len(va) != len(vb) or any(
                    abs(float(x) - float(y)) > 1e-6 for x, y in zip(va, vb)):
                return False
        elif va != vb:
            return False
    return True


def teacher_preprocessor_cfg(teacher_cfg: Optional[dict],
                             student_cfg: Optional[dict]) -> Optional[dict]:
    """The config of the preprocessor that turns a raw batch into teacher
    inputs, or None when the student's inputs can be shared.

    The teacher keeps its own normalisation (mean, std, channel order, pad
    value) and takes the student's geometry (``size``/``size_divisor``), so
    both see the same pixels at the same positions.
    """
    student_cfg = dict(student_cfg or {})
    if student_cfg.get('batch_augments'):
        raise ValueError(
            "The student's data_preprocessor has batch_augments; the teacher "
            'would see different images. Remove them for distillation.')
    if not teacher_cfg:
        return None
    teacher_cfg = copy.deepcopy(dict(teacher_cfg))
    if _same_values(teacher_cfg, student_cfg):
        return None
    teacher_cfg['batch_augments'] = None
    if teacher_cfg.get('type') in ('SegDataPreProcessor',
                                   'mmseg.SegDataPreProcessor'):
        teacher_cfg['size'] = student_cfg.get('size')
        teacher_cfg['size_divisor'] = student_cfg.get('size_divisor')
        teacher_cfg['test_cfg'] = None
    return teacher_cfg


@MODELS.register_module()
class DistillationDataPreprocessor(BaseDataPreprocessor):
    """Preprocesses one raw batch for the student and every teacher.

    In training it returns the student's ``inputs`` and ``data_samples``
    plus ``teacher_inputs``: teacher name to the images made by that
    teacher's own normalisation, for the teachers whose normalisation
    differs from the student's (the others share the student's inputs, so
    the work is not done twice). In validation and test only the student's
    preprocessing runs.

    Args:
        student (BaseDataPreprocessor): The student model's preprocessor
            (shared with it, not copied).
        teachers (dict, optional): Teacher name to its preprocessor,
            adjusted to the student's padding geometry (see
            :func:`teacher_preprocessor_cfg`), for the teachers that need
            their own.
    """

    def __init__(
            self,
            student: BaseDataPreprocessor,
            teachers: Optional[Mapping[str,
                                       BaseDataPreprocessor]] = None) -> None:
        super().__init__()
        self.student = student
        self.teachers = nn.ModuleDict(teachers or {})

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Preprocess a batch for the student (and, in training, for the
        teachers with their own normalisation).

        Args:
            data (dict): The batch from the dataloader (``inputs`` and
                ``data_samples``).
            training (bool): Whether the batch is for training. Defaults to
                False.

        Returns:
            dict: The student preprocessor's output (``inputs`` and
            ``data_samples``); in training also ``teacher_inputs``, teacher
            name to its preprocessed (B, C, H, W) inputs.
        """
        if not training:
            return self.student(data, False)
        data = self.cast_data(data)
        teacher_inputs = {}
        for name, preprocessor in self.teachers.items():
            # Fresh empty samples: stack_batch pads ground truth in place,
            # which must happen once only (in the student's pass).
            blanks = [SegDataSample() for _ in data['inputs']]
            teacher_inputs[name] = preprocessor(
                dict(inputs=data['inputs'], data_samples=blanks),
                True)['inputs']
        out = self.student(data, True)
        for name, inputs in teacher_inputs.items():
            if inputs.shape != out['inputs'].shape:
                raise RuntimeError(
                    f'Teacher {name!r} and student inputs differ in shape '
                    f'({tuple(inputs.shape)} vs '
                    f"{tuple(out['inputs'].shape)}); give the teacher's "
                    'data_preprocessor the same size/size_divisor.')
        out['teacher_inputs'] = teacher_inputs
        return out
