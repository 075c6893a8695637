# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import ATLoss
from mmseg_kd.losses.utils import spatial_attention
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def reference_attention(f):
    """(B, C, H, W) -> (B, H*W) by loops: channel mean of squares, then
    division by the Euclidean norm of each image's map."""
    b, c, h, w = f.shape
    out = np.zeros((b, h * w))
    for n in range(b):
        for y in range(h):
            for x in range(w):
                out[n, y * w + x] = sum(f[n, k, y, x]**2 for k in range(c)) / c
        out[n] /= np.sqrt(np.sum(out[n]**2))
    return out


def reference_at(s, t):
    return float(np.mean((reference_attention(s) - reference_attention(t))**2))


def test_at_matches_loops_with_different_channels():
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 7, 4, 5, generator=gen, dtype=torch.float64)
    got = ATLoss(loss_weight=1e4)(s, t)
    assert got.item() == pytest.approx(
        1e4 * reference_at(s.numpy(), t.numpy()), rel=1e-5)


def test_at_hand_value():
    # student: one channel, values (1, 0) -> q = (1, 0) -> a = (1, 0);
    # teacher: two channels (1, 1) and (1, 1) -> q = (1, 1) -> a = (1, 1)/sqrt2
    s = torch.tensor([[[[1.0, 0.0]]]])
    t = torch.ones(1, 2, 1, 2)
    r = 1 / np.sqrt(2)
    expected = ((1 - r)**2 + r**2) / 2
    assert ATLoss()(s, t).item() == pytest.approx(expected, rel=1e-6)


def test_spatial_attention_is_channel_mean_of_squares():
    f = torch.tensor([[[[1.0, -2.0]], [[3.0, 0.0]]]])  # (1, 2, 1, 2)
    assert spatial_attention(f).tolist() == [[[5.0, 2.0]]]


def test_at_zero_when_equal_and_scale_invariant():
    z = torch.randn(2, 4, 5, 5)
    assert ATLoss()(z, z).item() == pytest.approx(0, abs=1e-12)
    # a per-image scale and a sign flip leave the normalised attention alike
    scaled = -z * torch.tensor([3.0, 0.5]).view(2, 1, 1, 1)
    assert ATLoss()(scaled, z).item() == pytest.approx(0, abs=1e-10)


def test_at_gradient_precision_and_errors():
    assert_grad_to_student_only(ATLoss(), (2, 3, 4, 4), (2, 6, 4, 4))
    assert_finite_under_low_precision(
        ATLoss(), (2, 3, 8, 8), (2, 5, 8, 8), scale=300.0)
    with pytest.raises(ValueError) as info:
        ATLoss()(torch.randn(1, 3, 4, 4), torch.randn(1, 5, 8, 8))
    message = str(info.value)
    assert '(1, 3, 4, 4)' in message and '(1, 5, 8, 8)' in message
    assert 'ResizeConnector' in message
    with pytest.raises(ValueError, match='TokensToMap'):
        ATLoss()(torch.randn(2, 16, 3), torch.randn(2, 16, 3))
    with pytest.raises(ValueError, match='batch size'):
        ATLoss()(torch.randn(1, 3, 4, 4), torch.randn(2, 3, 4, 4))
