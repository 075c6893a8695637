# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import ChannelWiseDivergence
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def reference_cwd(s, t, tau):
    """Per (b, c): softmax over positions, KL summed; mean over b, c."""
    b, c = s.shape[:2]
    total = 0.0
    for n in range(b):
        for k in range(c):
            zs, zt = s[n, k].ravel() / tau, t[n, k].ravel() / tau
            p_s = np.exp(zs - zs.max()) / np.exp(zs - zs.max()).sum()
            p_t = np.exp(zt - zt.max()) / np.exp(zt - zt.max()).sum()
            total += float(np.sum(p_t * np.log(p_t / p_s)))
    return tau**2 * total / (b * c)


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_cwd_matches_channel_loop(tau):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    got = ChannelWiseDivergence(tau=tau, loss_weight=3.0)(s, t)
    assert got.item() == pytest.approx(
        3.0 * reference_cwd(s.numpy(), t.numpy(), tau), rel=1e-5)


def test_cwd_hand_value():
    # one channel, two positions: p_t = softmax(0, ln 3) = (1/4, 3/4),
    # p_s = (1/2, 1/2): KL = 1/4 ln(1/2) + 3/4 ln(3/2)
    t = torch.tensor([[[[0.0, float(np.log(3.0))]]]])
    s = torch.zeros(1, 1, 1, 2)
    expected = 0.25 * np.log(0.5) + 0.75 * np.log(1.5)
    assert ChannelWiseDivergence()(s, t).item() == pytest.approx(
        expected, rel=1e-6)


def test_cwd_zero_when_equal_and_invariant_to_channel_shift():
    z = torch.randn(2, 4, 5, 5)
    assert ChannelWiseDivergence(tau=4.0)(z, z).item() == pytest.approx(
        0, abs=1e-6)
    # a per-channel constant does not change a spatial softmax
    shifted = z + torch.randn(2, 4, 1, 1)
    assert ChannelWiseDivergence()(shifted, z).item() == pytest.approx(
        0, abs=1e-5)


def test_cwd_gradient_precision_and_errors():
    assert_grad_to_student_only(ChannelWiseDivergence(tau=4.0), (2, 3, 4, 4))
    assert_finite_under_low_precision(
        ChannelWiseDivergence(tau=1.0), (2, 3, 8, 8), scale=300.0)
    with pytest.raises(ValueError, match='ChannelConnector'):
        ChannelWiseDivergence()(torch.randn(1, 3, 4, 4),
                                torch.randn(1, 5, 4, 4))
    with pytest.raises(ValueError, match='B, C, H, W'):
        ChannelWiseDivergence()(torch.randn(2, 16, 3), torch.randn(2, 16, 3))


# ---------------------------------------------- logit standardisation option


def standardize_channels(z):
    """z-score each (b, c) map over its positions, by explicit sums."""
    out = np.empty_like(z)
    b, c = z.shape[:2]
    for n in range(b):
        for k in range(c):
            v = z[n, k].ravel()
            mean = sum(v) / len(v)
            std = np.sqrt(sum((x - mean)**2 for x in v) / len(v))
            out[n, k] = (z[n, k] - mean) / std
    return out


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_cwd_logit_standardization_matches_channel_loop(tau):
    gen = torch.Generator().manual_seed(0)
    s = 4 * torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64) - 2
    got = ChannelWiseDivergence(
        tau=tau, loss_weight=3.0, logit_standardization=True)(s, t)
    expected = reference_cwd(
        standardize_channels(s.numpy()), standardize_channels(t.numpy()), tau)
    assert got.item() == pytest.approx(3.0 * expected, rel=1e-5)


def test_cwd_default_is_unchanged_bit_for_bit():
    from mmseg_kd.losses.utils import kl_divergence
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(2, 3, 4, 4, generator=gen)
    t = torch.randn(2, 3, 4, 4, generator=gen)
    before = 16.0 * kl_divergence(s.reshape(6, -1), t.reshape(6, -1), 1,
                                  4.0).sum() / 6
    assert torch.equal(ChannelWiseDivergence(tau=4.0)(s, t), before)
    assert torch.equal(
        ChannelWiseDivergence(tau=4.0, logit_standardization=False)(s, t),
        before)
    assert 'logit_standardization' not in repr(ChannelWiseDivergence())


def test_cwd_logit_standardization_ignores_channel_range():
    gen = torch.Generator().manual_seed(2)
    s = torch.randn(2, 3, 5, 5, generator=gen)
    t = torch.randn(2, 3, 5, 5, generator=gen)
    loss = ChannelWiseDivergence(tau=2.0, logit_standardization=True)
    scale = torch.rand(2, 3, 1, 1, generator=gen) * 5 + 0.2
    shift = torch.randn(2, 3, 1, 1, generator=gen)
    assert loss(scale * s + shift, t).item() == pytest.approx(
        loss(s, t).item(), rel=1e-4)
    assert loss(3 * t + 1, t).item() == pytest.approx(0, abs=1e-5)


def test_cwd_logit_standardization_gradient_and_precision():
    loss = ChannelWiseDivergence(tau=4.0, logit_standardization=True)
    assert_grad_to_student_only(loss, (2, 3, 4, 4))
    assert_finite_under_low_precision(loss, (2, 3, 8, 8), scale=300.0)
    s = torch.zeros(1, 2, 3, 3, requires_grad=True)  # constant maps
    value = loss(s, torch.randn(1, 2, 3, 3))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(s.grad).all()
