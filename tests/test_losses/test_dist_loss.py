# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import DISTLoss, dist_relations
from mmseg_kd.losses.utils import pearson_correlation
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def np_pearson(u, v):
    u, v = u - u.mean(), v - v.mean()
    return float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-8)


def reference_dist(s, t, tau=1.0, beta=1.0, gamma=1.0):
    """Flatten to (M, K) rows, softmax per row, then explicit loops over the
    M rows (inter) and the K columns (intra)."""
    k = s.shape[1]
    ys = s.transpose(0, 2, 3, 1).reshape(-1, k) / tau
    yt = t.transpose(0, 2, 3, 1).reshape(-1, k) / tau
    ps = np.exp(ys - ys.max(1, keepdims=True))
    ps /= ps.sum(1, keepdims=True)
    pt = np.exp(yt - yt.max(1, keepdims=True))
    pt /= pt.sum(1, keepdims=True)
    inter = 1 - np.mean([np_pearson(ps[m], pt[m]) for m in range(len(ps))])
    intra = 1 - np.mean([np_pearson(ps[:, c], pt[:, c]) for c in range(k)])
    return tau**2 * (beta * inter + gamma * intra)


def randn(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize('tau,beta,gamma', [(1.0, 1.0, 1.0), (4.0, 1.0, 1.0),
                                            (1.0, 2.0, 0.5)])
def test_dist_matches_row_and_column_loops(tau, beta, gamma):
    s, t = randn(2, 5, 3, 4), randn(2, 5, 3, 4, seed=1)
    expected = reference_dist(s.numpy(), t.numpy(), tau, beta, gamma)
    assert dist_relations(s, t, tau, beta, gamma).item() == pytest.approx(
        expected, rel=1e-10)
    loss = DISTLoss(tau=tau, beta=beta, gamma=gamma, loss_weight=0.4)
    assert loss(s, t).item() == pytest.approx(0.4 * expected, rel=1e-5)


def test_dist_terms_separately():
    s, t = randn(2, 4, 3, 3), randn(2, 4, 3, 3, seed=1)
    inter = dist_relations(s, t, beta=1.0, gamma=0.0).item()
    intra = dist_relations(s, t, beta=0.0, gamma=1.0).item()
    assert inter + intra == pytest.approx(dist_relations(s, t).item())
    assert 0 < inter < 2 and 0 < intra < 2


def test_dist_identical_is_zero():
    z = randn(2, 6, 4, 4)
    assert DISTLoss()(z, z.clone()).item() == pytest.approx(0, abs=1e-5)
    # a per-pixel constant does not change the softmax
    assert DISTLoss()(z + randn(2, 1, 4, 4, seed=3), z).item() == \
        pytest.approx(0, abs=1e-5)


@pytest.mark.parametrize('tau', [1.0, 2.0])
def test_dist_anti_correlated_is_maximal(tau):
    # two classes and z^T = -z^S: p^T = 1 - p^S, so every row and every
    # column is exactly anti-correlated: inter = intra = 2, L = 4 tau^2
    z = randn(2, 1, 3, 3)
    s = torch.cat([z, -z], dim=1)
    value = DISTLoss(tau=tau)(s, -s).item()
    assert value == pytest.approx(4.0 * tau**2, rel=1e-5)


def test_dist_intra_correlates_over_the_whole_batch():
    # each image alone is perfectly correlated per class, but the teacher's
    # images are swapped, so over the batch the classes are not
    s = torch.tensor([[[[2.0, 0.0]], [[0.0, 0.0]]], [[[0.0, 0.0]],
                                                     [[0.0, 2.0]]]]).double()
    t = torch.flip(s, dims=[0])
    ps = torch.softmax(s, 1).permute(1, 0, 2, 3).reshape(2, -1)
    pt = torch.softmax(t, 1).permute(1, 0, 2, 3).reshape(2, -1)
    rho = [np_pearson(ps[c].numpy(), pt[c].numpy()) for c in range(2)]
    intra = dist_relations(s, t, beta=0.0, gamma=1.0).item()
    assert intra == pytest.approx(1 - np.mean(rho), rel=1e-10)
    assert intra == pytest.approx(
        reference_dist(s.numpy(), t.numpy(), beta=0.0), rel=1e-10)
    assert intra > 0.5
    for n in range(2):  # per image, the classes correlate perfectly
        assert dist_relations(
            s[n:n + 1], t[n:n + 1], beta=0.0,
            gamma=1.0).item() == pytest.approx(
                0, abs=1e-6)


def test_pearson_helper():
    x, y = randn(3, 7), randn(3, 7, seed=1)
    for row in range(3):
        assert pearson_correlation(x, y, dim=1)[row].item() == \
            pytest.approx(np.corrcoef(x[row], y[row])[0, 1], rel=1e-7)
    # a constant vector correlates to 0 (finite), thanks to the eps
    const = torch.ones(1, 5)
    assert pearson_correlation(const, randn(1, 5), dim=1).item() == 0.0
    # several dims at once
    a, b = randn(2, 3, 4), randn(2, 3, 4, seed=2)
    got = pearson_correlation(a, b, dim=(0, 2))
    for c in range(3):
        assert got[c].item() == pytest.approx(
            np_pearson(a[:, c].numpy().ravel(), b[:, c].numpy().ravel()))


def test_dist_gradient_precision_and_errors():
    assert_grad_to_student_only(DISTLoss(), (2, 5, 4, 4))
    assert_finite_under_low_precision(DISTLoss(), (2, 5, 4, 4), scale=300.0)
    assert_finite_under_low_precision(DISTLoss(tau=4.0), (2, 5, 4, 4))
    with pytest.raises(ValueError, match='num_classes'):
        DISTLoss()(torch.randn(1, 5, 4, 4), torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match='ResizeConnector'):
        DISTLoss()(torch.randn(1, 5, 4, 4), torch.randn(1, 5, 8, 8))
    with pytest.raises(ValueError, match='B, K, H, W'):
        DISTLoss()(torch.randn(4, 5), torch.randn(4, 5))
    with pytest.raises(ValueError, match='tau'):
        DISTLoss(tau=0.0)
