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
    with pytest.raises(ValueError, match='B, C, h, w'):
        ChannelWiseDivergence()(torch.randn(2, 16, 3), torch.randn(2, 16, 3))
