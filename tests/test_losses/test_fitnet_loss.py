# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.distill import ChannelConnector
from mmseg_kd.losses import FitNetLoss
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def reference_fitnet(s, t):
    """Loop over every element: the definition (mean of squared errors)."""
    total, count = 0.0, 0
    for value_s, value_t in zip(s.ravel(), t.ravel()):
        total += (float(value_s) - float(value_t))**2
        count += 1
    return total / count


def test_fitnet_matches_element_loop():
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 3, 4, 5, generator=gen, dtype=torch.float64)
    got = FitNetLoss(loss_weight=10.0)(s, t)
    assert got.item() == pytest.approx(
        10.0 * reference_fitnet(s.numpy(), t.numpy()), rel=1e-6)


def test_fitnet_hand_value_and_zero_when_equal():
    # errors 1, -1, 3, 0 -> squares 1, 1, 9, 0 -> mean 11/4
    s = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    t = torch.tensor([[[[0.0, 3.0], [0.0, 4.0]]]])
    assert FitNetLoss()(s, t).item() == pytest.approx(11 / 4)
    z = torch.randn(2, 4, 5, 5)
    assert FitNetLoss()(z, z).item() == 0.0


def test_fitnet_through_bare_conv_regressor():
    """With FitNet's connector (1x1 conv, no norm, no bias) the loss is the
    MSE between W s and t at every pixel."""
    conn = ChannelConnector(3, 5, norm_cfg=None, bias=False)
    convs = [m for m in conn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 and convs[0].bias is None
    assert not any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        for m in conn.modules())
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(2, 3, 4, 4, generator=gen)
    t = torch.randn(2, 5, 4, 4, generator=gen)
    weight = convs[0].weight.detach()[:, :, 0, 0].numpy()  # (5, 3)
    mapped = np.einsum('oc,bchw->bohw', weight, s.numpy())
    got = FitNetLoss()(conn(s), t)
    assert got.item() == pytest.approx(
        reference_fitnet(mapped, t.numpy()), rel=1e-5)
    got.backward()
    assert convs[0].weight.grad is not None


def test_fitnet_gradient_precision_and_errors():
    assert_grad_to_student_only(FitNetLoss(), (2, 3, 4, 4))
    assert_finite_under_low_precision(FitNetLoss(), (2, 3, 8, 8), scale=300.0)
    with pytest.raises(ValueError) as info:
        FitNetLoss()(torch.randn(1, 3, 4, 4), torch.randn(1, 5, 4, 4))
    message = str(info.value)
    assert '(1, 3, 4, 4)' in message and '(1, 5, 4, 4)' in message
    assert "type='ChannelConnector', norm_cfg=None, bias=False" in message
    with pytest.raises(ValueError, match='ResizeConnector'):
        FitNetLoss()(torch.randn(1, 3, 4, 4), torch.randn(1, 3, 8, 8))
