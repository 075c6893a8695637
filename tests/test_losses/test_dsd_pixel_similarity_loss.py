# Copyright (c) mmseg_kd contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from mmseg_kd.losses import (DSDPixelSimilarityLoss,
                             pixel_similarity_distillation)

# ---------------------------------------------------------------- references


def np_bilinear(a, out_h, out_w):
    """Bilinear resize of a (H, W) array, half-pixel centres, borders
    clamped (the align_corners=False convention), by loops."""
    in_h, in_w = a.shape
    out = np.zeros((out_h, out_w))
    for y in range(out_h):
        sy = max((y + 0.5) * in_h / out_h - 0.5, 0.0)
        y0 = min(int(math.floor(sy)), in_h - 1)
        y1 = min(y0 + 1, in_h - 1)
        wy = sy - y0
        for x in range(out_w):
            sx = max((x + 0.5) * in_w / out_w - 0.5, 0.0)
            x0 = min(int(math.floor(sx)), in_w - 1)
            x1 = min(x0 + 1, in_w - 1)
            wx = sx - x0
            out[y, x] = ((1 - wy) * (1 - wx) * a[y0, x0] +
                         (1 - wy) * wx * a[y0, x1] + wy *
                         (1 - wx) * a[y1, x0] + wy * wx * a[y1, x1])
    return out


def reference_attention(f, size=None):
    """(B, C, H, W) -> (B, N): channel mean of squares at every position
    (loops), optionally resized, divided by each image's Euclidean norm."""
    b, c, h, w = f.shape
    out = []
    for n in range(b):
        att = np.zeros((h, w))
        for y in range(h):
            for x in range(w):
                att[y, x] = sum(f[n, k, y, x]**2 for k in range(c)) / c
        if size is not None and size != (h, w):
            att = np_bilinear(att, *size)
        vec = att.ravel()
        out.append(vec / math.sqrt(sum(v * v for v in vec)))
    return np.stack(out)


def reference_psd(student, teacher, pairs, size=None):
    """Residual = normalised difference of the normalised attention of a
    stage pair; squared error averaged over entries, then over pairs."""

    def residuals(stages):
        att = [reference_attention(f, size) for f in stages]
        if pairs == 'adjacent':
            index = [(n, n + 1) for n in range(len(att) - 1)]
        else:
            index = [(n, m) for n in range(len(att)) for m in range(len(att))
                     if n < m]
        res = []
        for n, m in index:
            d = att[m] - att[n]
            res.append(d / np.sqrt((d**2).sum(axis=1, keepdims=True)))
        return res

    terms = []
    for rs, rt in zip(residuals(student), residuals(teacher)):
        total = 0.0
        for value in (rs - rt).ravel():
            total += value * value
        terms.append(total / rs.size)
    return sum(terms) / len(terms)


def random_stages(shapes, seed=0, requires_grad=False, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(s, generator=gen,
                    dtype=dtype).requires_grad_(requires_grad) for s in shapes
    ]


# ---------------------------------------------------------------------- PSD


@pytest.mark.parametrize('pairs', ['adjacent', 'all'])
def test_psd_matches_loops(pairs):
    student = random_stages([(2, 3, 4, 5), (2, 4, 4, 5), (2, 6, 4, 5)], 0)
    teacher = random_stages([(2, 7, 4, 5), (2, 5, 4, 5), (2, 2, 4, 5)], 1)
    expected = reference_psd([f.numpy() for f in student],
                             [f.numpy() for f in teacher], pairs)
    assert pixel_similarity_distillation(student, teacher, pairs).item() == \
        pytest.approx(expected, rel=1e-9)
    got = DSDPixelSimilarityLoss(
        pairs=pairs, loss_weight=1000.0)(student, teacher)
    assert got.item() == pytest.approx(1000.0 * expected, rel=1e-5)


def test_psd_pairs_differ_for_three_stages_and_agree_for_two():
    student = random_stages([(1, 3, 4, 4)] * 3, 2)
    teacher = random_stages([(1, 3, 4, 4)] * 3, 3)
    adjacent = DSDPixelSimilarityLoss(pairs='adjacent')(student, teacher)
    every = DSDPixelSimilarityLoss(pairs='all')(student, teacher)
    assert adjacent.item() != pytest.approx(every.item(), rel=1e-3)
    assert DSDPixelSimilarityLoss(pairs='adjacent')(
        student[:2], teacher[:2]).item() == pytest.approx(
            DSDPixelSimilarityLoss(pairs='all')(student[:2],
                                                teacher[:2]).item())


def test_psd_hand_value():
    # one channel, two positions; attention = f^2, normalised:
    # student q1 = (1, 0), q2 = (0, 1) -> r = (-1, 1)/sqrt2;
    # teacher q1 = (0, 1), q2 = (1, 0) -> r = (1, -1)/sqrt2;
    # r_S - r_T = (-sqrt2, sqrt2): mean of squares = 2
    s = [torch.tensor([[[[1.0, 0.0]]]]), torch.tensor([[[[0.0, 1.0]]]])]
    t = [torch.tensor([[[[0.0, 1.0]]]]), torch.tensor([[[[1.0, 0.0]]]])]
    assert DSDPixelSimilarityLoss(loss_weight=1.0)(s, t).item() == \
        pytest.approx(2.0)


def test_psd_zero_when_equal_and_scale_invariant():
    stages = random_stages([(2, 3, 4, 4), (2, 5, 4, 4), (2, 4, 4, 4)],
                           4,
                           dtype=torch.float32)
    loss = DSDPixelSimilarityLoss(pairs='all')
    assert loss(stages, stages).item() == pytest.approx(0, abs=1e-10)
    # a per-image, per-stage scale (and sign) leaves every map alike
    scaled = [
        f * torch.tensor([-2.0, 0.5]).view(2, 1, 1, 1) * (i + 1)
        for i, f in enumerate(stages)
    ]
    assert loss(scaled, stages).item() == pytest.approx(0, abs=1e-9)


def test_psd_resize_matches_loops():
    student = random_stages([(2, 3, 4, 6), (2, 4, 2, 3)], 5)
    teacher = random_stages([(2, 6, 2, 3), (2, 5, 2, 3)], 6)
    got = DSDPixelSimilarityLoss(
        resize=True, loss_weight=1.0)(student, teacher)
    expected = reference_psd([f.numpy() for f in student],
                             [f.numpy() for f in teacher],
                             'adjacent',
                             size=(4, 6))
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # equal sizes: resize changes nothing
    same_s = random_stages([(1, 3, 4, 4)] * 2, 7)
    same_t = random_stages([(1, 2, 4, 4)] * 2, 8)
    assert DSDPixelSimilarityLoss(resize=True)(same_s, same_t).item() == \
        DSDPixelSimilarityLoss()(same_s, same_t).item()


def test_psd_gradient_to_student_only_and_low_precision():
    student = random_stages([(2, 3, 4, 4), (2, 4, 4, 4), (2, 5, 4, 4)],
                            9,
                            requires_grad=True,
                            dtype=torch.float32)
    teacher = random_stages([(2, 6, 4, 4), (2, 6, 4, 4), (2, 6, 4, 4)],
                            10,
                            requires_grad=True,
                            dtype=torch.float32)
    value = DSDPixelSimilarityLoss()(student, teacher)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    for f in student:
        assert f.grad is not None and f.grad.abs().sum() > 0
    for f in teacher:
        assert f.grad is None, 'gradient reached the teacher tensor'
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float16, torch.bfloat16):
        s = [(300 * torch.randn(2, c, 8, 8, generator=gen)).to(dtype)
             for c in (3, 4)]
        t = [(300 * torch.randn(2, c, 8, 8, generator=gen)).to(dtype)
             for c in (5, 6)]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            value = DSDPixelSimilarityLoss()(s, t)
        assert value.dtype == torch.float32 and torch.isfinite(value)


def test_psd_errors_name_the_fix():
    loss = DSDPixelSimilarityLoss()
    one = torch.randn(1, 3, 4, 4)
    with pytest.raises(ValueError, match="student=\\('feat', 'logits'\\)"):
        loss(one, one)
    with pytest.raises(ValueError, match='at least two'):
        loss([one], [one])
    with pytest.raises(ValueError, match='resize=True'):
        loss([one, torch.randn(1, 3, 2, 2)], [one, one])
    with pytest.raises(ValueError, match='resize=True'):
        loss([one, one], [torch.randn(1, 3, 8, 8)] * 2)
    with pytest.raises(ValueError, match='2 maps and the teacher 3'):
        loss([one, one], [one, one, one])
    with pytest.raises(ValueError, match='batch size'):
        loss([one, one], [torch.randn(2, 3, 4, 4)] * 2)
    with pytest.raises(ValueError, match='TokensToMap'):
        loss([torch.randn(1, 16, 3)] * 2, [torch.randn(1, 16, 3)] * 2)
    with pytest.raises(ValueError, match='pairs'):
        DSDPixelSimilarityLoss(pairs='neighbours')


# ---------------------------------------------------------------------- CSD


def test_psd_defaults_and_registry():
    from mmseg.registry import MODELS
    psd = MODELS.build(dict(type='DSDPixelSimilarityLoss'))
    assert psd.loss_weight == 1000.0 and psd.pairs == 'adjacent'
