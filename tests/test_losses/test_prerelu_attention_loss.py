# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import PreReLUAttentionLoss, normalized_attention
from mmseg_kd.losses.utils import spatial_attention
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def np_attention(f, normalize):
    """(C, H, W) -> (H, W): mean_c f^2, then divided by the L2 norm of each
    column (h_axis) or of the whole map (flatten), written as loops."""
    c, h, w = f.shape
    a = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            a[y, x] = sum(f[k, y, x]**2 for k in range(c)) / c
    out = np.zeros_like(a)
    if normalize == 'h_axis':
        for x in range(w):
            out[:, x] = a[:, x] / np.sqrt(sum(a[y, x]**2 for y in range(h)))
    else:
        out = a / np.sqrt((a**2).sum())
    return out


def reference_attention_loss(s, t, normalize):
    diffs = [(np_attention(t[n], normalize) - np_attention(s[n], normalize))**2
             for n in range(s.shape[0])]
    return float(np.mean(diffs))


def test_spatial_attention_is_channel_mean_of_squares():
    f = torch.tensor([[[[1.0, -2.0]], [[3.0, 0.0]]]])  # (1, 2, 1, 2)
    torch.testing.assert_close(
        spatial_attention(f), torch.tensor([[[5.0, 2.0]]]))


def test_h_axis_quirk_vs_flatten_by_hand():
    # one channel, f = [[1, 2], [3, 4]] -> a = [[1, 4], [9, 16]]
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    col0, col1 = np.sqrt(1 + 81), np.sqrt(16 + 256)
    h_axis = torch.tensor([[[1 / col0, 4 / col1], [9 / col0, 16 / col1]]],
                          dtype=torch.float32)
    torch.testing.assert_close(normalized_attention(f, 'h_axis'), h_axis)
    total = np.sqrt(1 + 16 + 81 + 256)
    flat = torch.tensor([[[1.0, 4.0], [9.0, 16.0]]]) / total
    torch.testing.assert_close(normalized_attention(f, 'flatten'), flat)
    # against a zero teacher map (normalised to zero) the loss is the mean of
    # the squared student map: each of the W=2 columns has unit norm under
    # h_axis (2/4), the whole map has unit norm under flatten (1/4)
    zero = torch.zeros(1, 3, 2, 2)
    assert PreReLUAttentionLoss()(f, zero).item() == pytest.approx(
        0.5, rel=1e-6)
    assert PreReLUAttentionLoss(normalize='flatten')(f, zero).item() == \
        pytest.approx(0.25, rel=1e-6)


@pytest.mark.parametrize('normalize', ['h_axis', 'flatten'])
def test_attention_loss_matches_loop(normalize):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 7, 5, 4, generator=gen, dtype=torch.float64)
    expected = reference_attention_loss(s.numpy(), t.numpy(), normalize)
    got = PreReLUAttentionLoss(normalize=normalize, loss_weight=100.0)(s, t)
    assert got.item() == pytest.approx(100.0 * expected, rel=1e-5)


def test_h_axis_differs_from_flatten_and_from_w_axis():
    gen = torch.Generator().manual_seed(2)
    s = torch.randn(2, 4, 6, 5, generator=gen)
    t = torch.randn(2, 4, 6, 5, generator=gen)
    h_axis = PreReLUAttentionLoss()(s, t).item()
    assert h_axis != pytest.approx(
        PreReLUAttentionLoss(normalize='flatten')(s, t).item(), rel=1e-3)
    # transposing H and W changes the h_axis value (it is not symmetric)
    assert h_axis != pytest.approx(
        PreReLUAttentionLoss()(s.transpose(2, 3), t.transpose(2, 3)).item(),
        rel=1e-3)


@pytest.mark.parametrize('normalize', ['h_axis', 'flatten'])
def test_attention_zero_when_equal_or_rescaled(normalize):
    t = torch.randn(2, 6, 5, 5)
    loss = PreReLUAttentionLoss(normalize=normalize)
    assert loss(t, t.clone()).item() == pytest.approx(0, abs=1e-10)
    # normalisation removes a global scale, and squaring removes the sign
    assert loss(-2.0 * t, t).item() == pytest.approx(0, abs=1e-10)
    assert loss(torch.randn(2, 3, 5, 5), t).item() > 0


def test_attention_gradient_precision_and_errors():
    for normalize in ('h_axis', 'flatten'):
        loss = PreReLUAttentionLoss(normalize=normalize)
        assert_grad_to_student_only(
            loss, (2, 4, 6, 6), teacher_shape=(2, 8, 6, 6))
        assert_finite_under_low_precision(
            loss, (2, 4, 6, 6), teacher_shape=(2, 8, 6, 6))
    with pytest.raises(ValueError, match='ResizeConnector'):
        PreReLUAttentionLoss()(torch.randn(1, 4, 8, 8),
                               torch.randn(1, 4, 16, 16))
    with pytest.raises(ValueError, match='B, C, H, W'):
        PreReLUAttentionLoss()(torch.randn(1, 16, 4), torch.randn(1, 16, 4))
    with pytest.raises(ValueError, match='normalize'):
        PreReLUAttentionLoss(normalize='w_axis')
    assert "normalize='h_axis'" in repr(PreReLUAttentionLoss())
