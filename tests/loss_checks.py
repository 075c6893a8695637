# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Checks every distillation loss must pass (shared by the loss tests)."""
import torch


def assert_grad_to_student_only(loss, shape, teacher_shape=None, labels=None):
    """The loss has a gradient for the student tensor and none reaches the
    teacher tensor, even when the teacher tensor requires grad."""
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(shape, generator=gen, requires_grad=True)
    t = torch.randn(teacher_shape or shape, generator=gen, requires_grad=True)
    value = loss(s, t, labels)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None, 'gradient reached the teacher tensor'


def assert_finite_under_low_precision(loss,
                                      shape,
                                      teacher_shape=None,
                                      labels=None,
                                      scale=30.0):
    """Half/bfloat16 inputs of large magnitude give a finite float32 loss,
    also inside an autocast region."""
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float16, torch.bfloat16):
        s = (scale * torch.randn(shape, generator=gen)).to(dtype)
        t = (scale *
             torch.randn(teacher_shape or shape, generator=gen)).to(dtype)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            value = loss(s, t, labels)
        assert value.dtype == torch.float32
        assert torch.isfinite(value), f'non-finite under {dtype}'
