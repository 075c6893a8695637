# Copyright (c) mmseg_kd contributors. All rights reserved.
"""One raw batch, two normalisations, one geometry."""
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_kd.segmentors import DistillationDataPreprocessor
from mmseg_kd.segmentors.data_preprocessor import teacher_preprocessor_cfg
from ..conftest import MEAN, STD, fake_batch, mmseg_scope  # noqa: F401

STUDENT = dict(
    type='SegDataPreProcessor',
    mean=MEAN,
    std=STD,
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(64, 64))


def test_teacher_config_keeps_its_values_and_takes_the_student_geometry():
    assert teacher_preprocessor_cfg(dict(STUDENT), STUDENT) is None
    assert teacher_preprocessor_cfg(None, STUDENT) is None
    teacher = dict(
        STUDENT,
        mean=[0.0] * 3,
        std=[1.0] * 3,
        size=(32, 32),
        batch_augments=[dict(type='x')])
    cfg = teacher_preprocessor_cfg(teacher, STUDENT)
    assert cfg['mean'] == [0.0] * 3 and cfg['size'] == (64, 64)
    assert cfg['batch_augments'] is None
    with pytest.raises(ValueError, match='batch_augments'):
        teacher_preprocessor_cfg(teacher, dict(STUDENT, batch_augments=[1]))


def test_training_batches_carry_teacher_inputs(mmseg_scope):  # noqa: F811
    teacher = MODELS.build(
        dict(STUDENT, mean=[0.0] * 3, std=[1.0] * 3, bgr_to_rgb=False))
    pre = DistillationDataPreprocessor(
        MODELS.build(STUDENT), dict(raw=teacher))
    batch = fake_batch()
    raw = torch.stack(batch['inputs']).float()
    out = pre(batch, True)
    assert list(out['teacher_inputs']) == ['raw']
    assert torch.equal(out['teacher_inputs']['raw'], raw)
    assert out['inputs'].shape == raw.shape
    assert not torch.equal(out['inputs'], raw)
    # validation and test: the student's preprocessing only
    assert 'teacher_inputs' not in pre(fake_batch(), False)
    shared = DistillationDataPreprocessor(MODELS.build(STUDENT))
    assert shared(fake_batch(), True)['teacher_inputs'] == {}
