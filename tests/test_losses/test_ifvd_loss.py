# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import IFVDLoss, ifvd
from mmseg_kd.losses.utils import class_means
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def reference_ifv(f, labels, num_classes):
    """The reference algorithm, literally: a loop over classes builds the
    prototype map (f itself where the label is not a class), then a loop over
    pixels takes the cosine."""
    b, c, h, w = f.shape
    out = np.zeros((b, h, w))
    for n in range(b):
        proto = f[n].copy()
        for k in range(num_classes):
            mask = labels[n] == k
            if mask.any():
                mean = f[n][:, mask].sum(axis=1) / (mask.sum() + 1e-6)
                proto[:, mask] = mean[:, None]
        for y in range(h):
            for x in range(w):
                u, v = f[n, :, y, x], proto[:, y, x]
                den = max(np.linalg.norm(u), 1e-8) * max(
                    np.linalg.norm(v), 1e-8)
                out[n, y, x] = float(u @ v) / den
    return out


def reference_ifvd(s, t, labels, num_classes):
    d = reference_ifv(s, labels, num_classes) - reference_ifv(
        t, labels, num_classes)
    return float(np.mean(d**2))


def random_case(b, cs, ct, h, w, num_classes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    s = torch.randn(b, cs, h, w, generator=gen, dtype=torch.float64)
    t = torch.randn(b, ct, h, w, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, num_classes, (b, h, w), generator=gen)
    return s, t, labels


def test_ifvd_matches_class_loop_with_ignore_and_channel_mismatch():
    s, t, labels = random_case(2, 6, 10, 5, 7, num_classes=5)
    labels[0, 0] = 255  # ignore
    labels[1, :, 1] = 7  # outside [0, K): ignored too
    labels[1, labels[1] == 3] = 0  # class 3 absent from image 1
    expected = reference_ifvd(s.numpy(), t.numpy(), labels.numpy(), 5)
    loss = IFVDLoss(num_classes=5, loss_weight=200.0)
    assert loss.uses_labels
    # the class computes in float32; the pure function keeps float64
    assert loss(s, t, labels).item() == pytest.approx(200 * expected, rel=1e-5)
    assert ifvd(s, t, labels, 5).item() == pytest.approx(expected, rel=1e-10)


def test_ifvd_vectorised_equals_loop_for_150_classes():
    s, t, labels = random_case(2, 8, 12, 16, 16, num_classes=150, seed=1)
    labels[0, :3] = 255
    assert len(labels.unique()) > 100
    expected = reference_ifvd(s.numpy(), t.numpy(), labels.numpy(), 150)
    assert ifvd(s, t, labels, 150).item() == pytest.approx(expected, rel=1e-10)
    got = IFVDLoss(num_classes=150)(s, t, labels)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_ifvd_hand_value():
    # one image, two pixels of class 0, two channels.
    # student f = (1, 0), (0, 1): prototype (1, 1) / (2 + 1e-6), both
    # cosines 1/sqrt(2); teacher f = (1, 0), (1, 0): both cosines 1.
    s = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    t = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]]]])
    labels = torch.zeros(1, 1, 2, dtype=torch.long)
    expected = (1 - 1 / np.sqrt(2))**2
    assert IFVDLoss(2)(s, t, labels).item() == pytest.approx(
        expected, rel=1e-6)
    # a third, ignored pixel adds zero error but counts in the mean
    s3 = torch.cat([s, torch.randn(1, 2, 1, 1)], dim=3)
    t3 = torch.cat([t, torch.randn(1, 2, 1, 1)], dim=3)
    labels3 = torch.tensor([[[0, 0, 255]]])
    assert IFVDLoss(2)(s3, t3, labels3).item() == pytest.approx(
        expected * 2 / 3, rel=1e-6)


def test_class_means_per_image_with_ignore_bin():
    f = torch.tensor([[[1.0, 3.0, 5.0, 7.0]], [[2.0, 4.0, 6.0, 8.0]]])
    labels = torch.tensor([[0, 0, 1, 255], [1, 1, 1, 1]])
    means = class_means(f, labels, 2)
    assert means.shape == (2, 1, 3)
    eps = 1e-6
    expected = torch.tensor([[[4 / (2 + eps), 5 / (1 + eps), 7 / (1 + eps)]],
                             [[0.0, 20 / (4 + eps), 0.0]]])
    assert torch.allclose(means, expected)


def test_ifvd_zero_when_structures_agree():
    s, _, labels = random_case(2, 6, 6, 6, 6, num_classes=4, seed=2)
    labels[0, 0] = 255
    assert IFVDLoss(4)(s, s.clone(), labels).item() == pytest.approx(
        0, abs=1e-12)
    # cosines ignore a positive scale, so a scaled teacher gives 0 too
    assert IFVDLoss(4)(s, 3.0 * s, labels).item() == pytest.approx(
        0, abs=1e-12)
    assert IFVDLoss(4)(s, torch.randn(2, 9, 6, 6).double(), labels) > 0


def test_ifvd_gradient_goes_through_student_prototypes():
    # gradcheck compares autograd with finite differences of the full loss,
    # so a detached prototype would fail it
    s, t, labels = random_case(1, 3, 4, 3, 3, num_classes=3, seed=3)
    labels[0, 0, 0] = 255
    s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: ifvd(x, t, labels, 3), (s, ))


def test_ifvd_gradient_and_precision():
    labels = torch.randint(0, 5, (2, 8, 8))
    labels[:, 0] = 255
    loss = IFVDLoss(5)
    assert_grad_to_student_only(loss, (2, 6, 8, 8), (2, 10, 8, 8), labels)
    assert_finite_under_low_precision(
        loss, (2, 6, 8, 8), (2, 10, 8, 8), labels, scale=300.0)


def test_ifvd_all_ignore_is_zero_and_connected():
    s = torch.randn(2, 4, 3, 3, requires_grad=True)
    t = torch.randn(2, 8, 3, 3)
    labels = torch.full((2, 3, 3), 255)
    value = IFVDLoss(11, loss_weight=200.0)(s, t, labels)
    assert torch.isfinite(value) and value.item() == 0.0
    assert value.requires_grad
    value.backward()
    assert torch.equal(s.grad, torch.zeros_like(s))


def test_ifvd_errors_name_the_fix():
    loss = IFVDLoss(5)
    with pytest.raises(ValueError, match='ResizeConnector'):
        loss(
            torch.randn(1, 4, 8, 8), torch.randn(1, 4, 4, 4),
            torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match='labels'):
        loss(torch.randn(1, 4, 8, 8), torch.randn(1, 6, 8, 8))
    with pytest.raises(ValueError, match='resize them \\(nearest\\)'):
        loss(
            torch.randn(1, 4, 8, 8), torch.randn(1, 6, 8, 8),
            torch.zeros(1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match='num_classes'):
        IFVDLoss(0)
