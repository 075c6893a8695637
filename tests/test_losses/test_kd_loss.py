# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import KDLoss
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def np_softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def reference_kd(s, t, tau, labels=None, ignore=None, per_class=False):
    """Loop over pixels with explicit softmax/log: the definition."""
    b, k, h, w = s.shape
    total, count = 0.0, 0
    for n in range(b):
        for y in range(h):
            for x in range(w):
                if labels is not None and labels[n, y, x] == ignore:
                    continue
                p_t = np_softmax(t[n, :, y, x] / tau)
                p_s = np_softmax(s[n, :, y, x] / tau)
                total += float(np.sum(p_t * (np.log(p_t) - np.log(p_s))))
                count += 1
    loss = tau**2 * total / max(count, 1)
    return loss / k if per_class else loss


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_kd_matches_pixel_loop(tau):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(2, 5, 3, 4, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 5, 3, 4, generator=gen, dtype=torch.float64)
    expected = reference_kd(s.numpy(), t.numpy(), tau)
    got = KDLoss(tau=tau, loss_weight=2.0)(s, t)
    assert got.item() == pytest.approx(2.0 * expected, rel=1e-5)
    got = KDLoss(tau=tau, reduction='element_mean')(s, t)
    assert got.item() == pytest.approx(expected / 5, rel=1e-5)


def test_kd_ignore_mask():
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(2, 4, 3, 3, generator=gen)
    t = torch.randn(2, 4, 3, 3, generator=gen)
    labels = torch.randint(0, 4, (2, 3, 3), generator=gen)
    labels[0, 0] = 255
    labels[1, :, 2] = 255
    loss = KDLoss(ignore_index=255)
    assert loss.uses_labels
    expected = reference_kd(s.double().numpy(),
                            t.double().numpy(), 1.0, labels.numpy(), 255)
    assert loss(s, t, labels).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match='labels'):
        loss(s, t)


def test_kd_all_ignore_is_zero_and_connected():
    s = torch.randn(1, 3, 2, 2, requires_grad=True)
    t = torch.randn(1, 3, 2, 2)
    labels = torch.full((1, 2, 2), 255)
    value = KDLoss(ignore_index=255)(s, t, labels)
    assert value.item() == 0.0 and torch.isfinite(value)
    value.backward()
    assert torch.equal(s.grad, torch.zeros_like(s))


def test_kd_zero_when_equal_and_positive_otherwise():
    z = torch.randn(2, 6, 4, 4)
    assert KDLoss(tau=2.0)(z, z.clone()).item() == pytest.approx(0, abs=1e-6)
    assert KDLoss()(z, torch.randn(2, 6, 4, 4)).item() > 0


def test_kd_gradient_and_precision():
    assert_grad_to_student_only(KDLoss(tau=4.0), (2, 5, 4, 4))
    assert_finite_under_low_precision(KDLoss(tau=4.0), (2, 5, 4, 4))


def test_kd_shape_errors_name_the_fix():
    with pytest.raises(ValueError, match='num_classes'):
        KDLoss()(torch.randn(1, 5, 4, 4), torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match='ResizeConnector'):
        KDLoss()(torch.randn(1, 5, 4, 4), torch.randn(1, 5, 8, 8))
    with pytest.raises(ValueError, match='reduction'):
        KDLoss(reduction='sum')
    # (B, N, K) tokens: the softmax would run over the tokens, not classes
    with pytest.raises(ValueError, match='TokensToMap'):
        KDLoss()(torch.randn(2, 16, 5), torch.randn(2, 16, 5))


# ---------------------------------------------- logit standardisation option


def np_zscore(v):
    """(v - mean) / population std, by explicit sums."""
    n = len(v)
    mean = sum(v) / n
    std = np.sqrt(sum((x - mean)**2 for x in v) / n)
    return np.array([(x - mean) / std for x in v])


def standardize_classes(z):
    """z-score each pixel's class vector of a (B, K, h, w) array."""
    out = np.empty_like(z)
    b, _, h, w = z.shape
    for n in range(b):
        for y in range(h):
            for x in range(w):
                out[n, :, y, x] = np_zscore(z[n, :, y, x])
    return out


@pytest.mark.parametrize('tau', [1.0, 2.0])
def test_kd_logit_standardization_matches_pixel_loop(tau):
    gen = torch.Generator().manual_seed(0)
    s = 3 * torch.randn(2, 5, 3, 4, generator=gen, dtype=torch.float64)
    t = torch.randn(2, 5, 3, 4, generator=gen, dtype=torch.float64) + 1
    expected = reference_kd(
        standardize_classes(s.numpy()), standardize_classes(t.numpy()), tau)
    got = KDLoss(tau=tau, loss_weight=9.0, logit_standardization=True)(s, t)
    assert got.item() == pytest.approx(9.0 * expected, rel=1e-5)
    labels = torch.randint(0, 5, (2, 3, 4), generator=gen)
    labels[0, 1] = 255
    expected = reference_kd(
        standardize_classes(s.numpy()), standardize_classes(t.numpy()), tau,
        labels.numpy(), 255)
    got = KDLoss(
        tau=tau, ignore_index=255, logit_standardization=True)(s, t, labels)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_kd_default_is_unchanged_bit_for_bit():
    from mmseg_kd.losses.utils import kl_divergence
    gen = torch.Generator().manual_seed(3)
    s = torch.randn(2, 6, 4, 4, generator=gen)
    t = torch.randn(2, 6, 4, 4, generator=gen)
    before = (4.0**2 * kl_divergence(s, t, 1, 4.0)).mean()
    assert torch.equal(KDLoss(tau=4.0)(s, t), before)
    assert torch.equal(
        KDLoss(tau=4.0, logit_standardization=False)(s, t), before)
    assert 'logit_standardization' not in repr(KDLoss())
    assert 'logit_standardization=True' in repr(
        KDLoss(logit_standardization=True))


def test_kd_logit_standardization_ignores_logit_range():
    gen = torch.Generator().manual_seed(4)
    s = torch.randn(2, 6, 4, 4, generator=gen)
    t = torch.randn(2, 6, 4, 4, generator=gen)
    loss = KDLoss(tau=2.0, logit_standardization=True)
    # a per-pixel positive scale and shift of the student changes nothing
    scale = torch.rand(2, 1, 4, 4, generator=gen) * 5 + 0.2
    shift = torch.randn(2, 1, 4, 4, generator=gen)
    assert loss(scale * s + shift, t).item() == pytest.approx(
        loss(s, t).item(), rel=1e-4)
    # a student that matches the teacher up to range has nothing to learn
    assert loss(5 * t - 2, t).item() == pytest.approx(0, abs=1e-5)
    assert KDLoss(tau=2.0)(5 * t - 2, t).item() > 0.1


def test_kd_logit_standardization_gradient_and_precision():
    assert_grad_to_student_only(
        KDLoss(tau=2.0, logit_standardization=True), (2, 5, 4, 4))
    assert_finite_under_low_precision(
        KDLoss(tau=2.0, logit_standardization=True), (2, 5, 4, 4), scale=300.0)
    # constant logit vectors (std 0) give zeros, a finite loss and gradient
    s = torch.ones(1, 4, 2, 2, requires_grad=True)
    t = torch.randn(1, 4, 2, 2)
    value = KDLoss(logit_standardization=True)(s, t)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(s.grad).all()


def test_z_score_helper():
    from mmseg_kd.losses.utils import z_score
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    z = z_score(x, 1)
    assert z[0].tolist() == pytest.approx(
        list(np_zscore([1, 2, 3, 6])), rel=1e-6)
    assert z[1].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert z[0].mean().item() == pytest.approx(0, abs=1e-6)
    assert z[0].pow(2).mean().item() == pytest.approx(1, rel=1e-6)


def test_labels_are_checked_against_the_logits():
    """Labels of one image for a batch of two were broadcast (the value
    became B times the masked mean); wrong-size labels gave a raw broadcast
    error."""
    s, t = torch.randn(2, 5, 4, 4), torch.randn(2, 5, 4, 4)
    loss = KDLoss(ignore_index=255)
    with pytest.raises(ValueError, match='for the 2 images'):
        loss(s, t, torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="tensors' size"):
        loss(s, t, torch.zeros(2, 8, 8, dtype=torch.long))


def test_class_count_mismatch_says_classes_not_connector():
    with pytest.raises(ValueError) as err:
        KDLoss()(torch.randn(2, 5, 4, 4), torch.randn(2, 7, 4, 4))
    assert 'numbers of classes differ' in str(err.value)
    assert not str(err.value).split(':', 1)[1].strip().startswith('add')
    with pytest.raises(ValueError, match='batch sizes differ'):
        KDLoss()(torch.randn(2, 5, 4, 4), torch.randn(3, 5, 4, 4))
