# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import CIRKDMiniBatchLoss
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def reference(s, t, tau):
    """Pairs (i, j), rows r: numpy softmaxes of normalised similarities."""
    b, _, h, w = s.shape

    def unit(x):
        f = x.reshape(x.shape[0], -1).T  # (hw, C)
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    def softmax(a):
        e = np.exp(a - a.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    total = 0.0
    for i in range(b):
        for j in range(b):
            a_s = unit(s[i]) @ unit(s[j]).T / tau
            a_t = unit(t[i]) @ unit(t[j]).T / tau
            p_s, p_t = softmax(a_s), softmax(a_t)
            total += np.sum(p_t * np.log(p_t / p_s)) / (h * w)
    return total / b**2


def test_matches_pairwise_reference_with_different_channels():
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(3, 4, 3, 5, generator=gen, dtype=torch.float64)
    t = torch.randn(3, 7, 3, 5, generator=gen, dtype=torch.float64)
    got = CIRKDMiniBatchLoss(tau=0.1, chunk=4)(s, t)
    assert got.item() == pytest.approx(
        reference(s.numpy(), t.numpy(), 0.1), rel=1e-6)


def test_pooling_zero_and_errors():
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(2, 4, 4, 6, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 5, 4, 6, generator=gen, dtype=torch.float64)
    pooled = CIRKDMiniBatchLoss(pool=True)(s, t)
    ref = reference(
        torch.nn.functional.avg_pool2d(s, 2).numpy(),
        torch.nn.functional.avg_pool2d(t, 2).numpy(), 0.1)
    assert pooled.item() == pytest.approx(ref, rel=1e-6)
    assert CIRKDMiniBatchLoss()(s, s).item() == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match='ResizeConnector'):
        CIRKDMiniBatchLoss()(s, torch.randn(2, 4, 8, 12))


def test_gradient_and_precision():
    assert_grad_to_student_only(
        CIRKDMiniBatchLoss(chunk=5), (2, 3, 4, 4), (2, 6, 4, 4))
    assert_finite_under_low_precision(CIRKDMiniBatchLoss(), (2, 3, 4, 4),
                                      (2, 6, 4, 4))
