# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import (DSDCategorySimilarityLoss,
                             category_similarity_distillation)
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)

# ---------------------------------------------------------------- reference


def np_avg_pool_2x2_ceil(z):
    """2x2 stride-2 average pooling; a window cut by the border averages
    the pixels it has (ceil mode, no padding)."""
    k, h, w = z.shape
    oh, ow = -(-h // 2), -(-w // 2)
    out = np.zeros((k, oh, ow))
    for c in range(k):
        for y in range(oh):
            for x in range(ow):
                vals = [
                    z[c, yy, xx] for yy in (2 * y, 2 * y + 1)
                    for xx in (2 * x, 2 * x + 1) if yy < h and xx < w
                ]
                out[c, y, x] = sum(vals) / len(vals)
    return out


def reference_csd(s, t, tau, pool):
    b, k = s.shape[:2]
    total, count = 0.0, 0
    for n in range(b):
        grams = []
        for z in (s[n], t[n]):
            if pool:
                z = np_avg_pool_2x2_ceil(z)
            z = z.reshape(k, -1) / tau
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            gram = np.zeros((k, k))
            for i in range(k):
                for j in range(k):
                    gram[i,
                         j] = sum(p[i, q] * p[j, q] for q in range(p.shape[1]))
            grams.append(gram)
        for value in (grams[0] - grams[1]).ravel():
            total += value * value
            count += 1
    return total / count


@pytest.mark.parametrize('shape,pool', [((2, 3, 4, 6), True),
                                        ((2, 3, 5, 7), True),
                                        ((1, 4, 3, 5), False)])
def test_csd_matches_loops(shape, pool):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(shape, generator=gen, dtype=torch.float64)
    t = torch.randn(shape, generator=gen, dtype=torch.float64)
    expected = reference_csd(s.numpy(), t.numpy(), 4.0, pool)
    # float64 through the pure function
    assert category_similarity_distillation(s, t, 4.0, pool).item() == \
        pytest.approx(expected, rel=1e-9)
    # the loss runs in float32: G^S - G^T cancels most digits
    got = DSDCategorySimilarityLoss(tau=4.0, pool=pool, loss_weight=10.0)(s, t)
    assert got.item() == pytest.approx(10.0 * expected, rel=1e-4)


def test_csd_hand_value():
    # no pooling, tau 1, two classes over two positions:
    # student p = (1/2, 1/2) for both -> G = 1/2 everywhere;
    # teacher p0 = (1/4, 3/4), p1 = (3/4, 1/4) -> G = [[10, 6], [6, 10]]/16;
    # every entry differs by 1/8: mean of squares 1/64
    ln3 = float(np.log(3.0))
    t = torch.tensor([[[[0.0, ln3]], [[ln3, 0.0]]]])
    s = torch.zeros(1, 2, 1, 2)
    got = DSDCategorySimilarityLoss(tau=1.0, pool=False, loss_weight=1.0)
    assert got(s, t).item() == pytest.approx(1 / 64, rel=1e-6)


def test_csd_zero_when_equal_and_invariant_to_class_shift():
    z = torch.randn(2, 4, 6, 6)
    loss = DSDCategorySimilarityLoss()
    assert loss(z, z).item() == pytest.approx(0, abs=1e-12)
    # a per-class constant does not change a spatial softmax
    assert loss(z + torch.randn(2, 4, 1, 1), z).item() == pytest.approx(
        0, abs=1e-10)
    assert loss(torch.randn(2, 4, 6, 6), z).item() > 0


def test_csd_gradient_precision_and_errors():
    assert_grad_to_student_only(DSDCategorySimilarityLoss(), (2, 3, 4, 4))
    assert_finite_under_low_precision(
        DSDCategorySimilarityLoss(), (2, 5, 8, 8), scale=300.0)
    with pytest.raises(ValueError, match='num_classes'):
        DSDCategorySimilarityLoss()(torch.randn(1, 3, 4, 4),
                                    torch.randn(1, 5, 4, 4))
    with pytest.raises(ValueError, match='ResizeConnector'):
        DSDCategorySimilarityLoss()(torch.randn(1, 3, 4, 4),
                                    torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match='B, K, H, W'):
        DSDCategorySimilarityLoss()(torch.randn(2, 16, 3),
                                    torch.randn(2, 16, 3))


def test_csd_defaults_and_registry():
    from mmseg.registry import MODELS
    csd = MODELS.build(dict(type='DSDCategorySimilarityLoss'))
    assert csd.loss_weight == 10.0 and csd.tau == 4.0 and csd.pool
