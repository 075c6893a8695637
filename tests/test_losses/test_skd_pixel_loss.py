# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import SKDPixelWiseLoss
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def np_softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def reference_skd_pixel(s, t, tau=1.0, kl=False, pixel_mean=False):
    """Loop over pixels: -sum_k p_t log p_s (minus the teacher entropy for
    KL), summed over the batch, divided by h*w (and by B for pixel_mean)."""
    b, k, h, w = s.shape
    total = 0.0
    for n in range(b):
        for y in range(h):
            for x in range(w):
                p_t = np_softmax(t[n, :, y, x] / tau)
                p_s = np_softmax(s[n, :, y, x] / tau)
                value = -np.sum(p_t * np.log(p_s))
                if kl:
                    value += np.sum(p_t * np.log(p_t))
                total += float(value)
    loss = tau**2 * total / (h * w)
    return loss / b if pixel_mean else loss


@pytest.mark.parametrize('tau', [1.0, 3.0])
@pytest.mark.parametrize('form', ['cross_entropy', 'kl'])
@pytest.mark.parametrize('reduction', ['batch_sum', 'pixel_mean'])
def test_skd_pixel_matches_pixel_loop(tau, form, reduction):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(3, 5, 3, 4, generator=gen, dtype=torch.float64)
    t = torch.randn(3, 5, 3, 4, generator=gen, dtype=torch.float64)
    expected = reference_skd_pixel(s.numpy(), t.numpy(), tau, form == 'kl',
                                   reduction == 'pixel_mean')
    loss = SKDPixelWiseLoss(
        tau=tau, form=form, reduction=reduction, loss_weight=10.0)
    assert loss(s, t).item() == pytest.approx(10.0 * expected, rel=1e-5)


def test_skd_pixel_hand_value_and_batch_sum():
    # one pixel, p_t = softmax(0, ln 3) = (1/4, 3/4), p_s = (1/2, 1/2):
    # CE = ln 2, teacher entropy = -(1/4 ln 1/4 + 3/4 ln 3/4)
    t = torch.tensor([0.0, float(np.log(3.0))]).view(1, 2, 1,
                                                     1).repeat(2, 1, 1, 1)
    s = torch.zeros(2, 2, 1, 1)
    ce = np.log(2.0)
    entropy = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    # batch sum: two identical images give twice the per-image value
    assert SKDPixelWiseLoss()(s, t).item() == pytest.approx(2 * ce, rel=1e-6)
    assert SKDPixelWiseLoss(reduction='pixel_mean')(s, t).item() == \
        pytest.approx(ce, rel=1e-6)
    assert SKDPixelWiseLoss(form='kl')(s, t).item() == pytest.approx(
        2 * (ce - entropy), rel=1e-5)


def test_skd_pixel_minimum_at_teacher():
    z = torch.randn(2, 6, 4, 4)
    # KL form: zero; cross-entropy form: the teacher entropy, with zero grad
    assert SKDPixelWiseLoss(form='kl')(z, z.clone()).item() == \
        pytest.approx(0, abs=1e-6)
    s = z.clone().requires_grad_(True)
    value = SKDPixelWiseLoss()(s, z)
    p = torch.softmax(z, 1)
    entropy = -(p * torch.log_softmax(z, 1)).sum(1).sum() / 16
    assert value.item() == pytest.approx(entropy.item(), rel=1e-5)
    value.backward()
    assert s.grad.abs().max() < 1e-6
    assert SKDPixelWiseLoss()(torch.randn(2, 6, 4, 4), z).item() > \
        value.item()


def test_skd_pixel_forms_share_the_gradient():
    gen = torch.Generator().manual_seed(3)
    t = torch.randn(2, 4, 3, 3, generator=gen)
    grads = []
    for form in ('cross_entropy', 'kl'):
        s = torch.randn(
            2, 4, 3, 3,
            generator=torch.Generator().manual_seed(4)).requires_grad_(True)
        SKDPixelWiseLoss(form=form, tau=2.0)(s, t).backward()
        grads.append(s.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_skd_pixel_gradient_and_precision():
    assert_grad_to_student_only(SKDPixelWiseLoss(), (2, 5, 4, 4))
    assert_grad_to_student_only(
        SKDPixelWiseLoss(form='kl', tau=4.0), (2, 5, 4, 4))
    assert_finite_under_low_precision(SKDPixelWiseLoss(), (2, 5, 4, 4))
    assert_finite_under_low_precision(
        SKDPixelWiseLoss(form='kl', reduction='pixel_mean'), (2, 5, 4, 4))


def test_skd_pixel_errors_name_the_fix():
    with pytest.raises(ValueError, match='num_classes'):
        SKDPixelWiseLoss()(torch.randn(1, 5, 4, 4), torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match='ResizeConnector'):
        SKDPixelWiseLoss()(torch.randn(1, 5, 4, 4), torch.randn(1, 5, 8, 8))
    with pytest.raises(ValueError, match='reduction'):
        SKDPixelWiseLoss(reduction='mean')
    with pytest.raises(ValueError, match='form'):
        SKDPixelWiseLoss(form='mse')
    with pytest.raises(ValueError, match='tau'):
        SKDPixelWiseLoss(tau=0.0)
    with pytest.raises(ValueError, match='TokensToMap'):
        SKDPixelWiseLoss()(torch.randn(2, 16, 5), torch.randn(2, 16, 5))
    assert 'batch_sum' in repr(SKDPixelWiseLoss())
