# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmseg_kd.losses import SKDPairWiseLoss, graph_pool, graph_pool_kernel
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def windows(size, kernel):
    """[start, end) of each pooling window: kernel = stride, the last window
    clipped at the border (ceil mode, no padding)."""
    return [(a, min(a + kernel, size)) for a in range(0, size, kernel)]


def np_nodes(f, kh, kw):
    """(C, H, W) -> list of C-vectors, max over each window, row-major."""
    return [
        f[:, y0:y1, x0:x1].reshape(f.shape[0], -1).max(axis=1)
        for y0, y1 in windows(f.shape[1], kh)
        for x0, x1 in windows(f.shape[2], kw)
    ]


def reference_pairwise(s, t, kh, kw, eps=1e-8):
    """Nodes by explicit window maxima, cosine of every node pair with
    norm + eps, squared difference averaged over pairs and batch."""
    total = 0.0
    for n in range(s.shape[0]):
        sims = []
        for f in (s[n], t[n]):
            nodes = [
                v / (np.linalg.norm(v) + eps) for v in np_nodes(f, kh, kw)
            ]
            sims.append(np.array([[a @ b for b in nodes] for a in nodes]))
        total += float(np.mean((sims[1] - sims[0])**2))
    return total / s.shape[0]


def test_graph_geometry_65_pool_scale_half():
    assert graph_pool_kernel(65, 65, 0.5) == (32, 32)
    x = torch.randn(2, 4, 65, 65)
    nodes = graph_pool(x, (32, 32))
    assert nodes.shape == (2, 4, 3, 3)
    # the last row and column of nodes come from 1-pixel-wide windows
    torch.testing.assert_close(nodes[..., 2, 0], x[..., 64, 0:32].amax(-1))
    torch.testing.assert_close(nodes[..., 0, 2], x[..., 0:32, 64].amax(-1))
    torch.testing.assert_close(nodes[..., 2, 2], x[..., 64, 64])
    torch.testing.assert_close(nodes[..., 1, 1], x[..., 32:64, 32:64].amax(
        (-1, -2)))
    # non-square maps: kernel from each side
    assert graph_pool_kernel(33, 45, 0.5) == (16, 22)
    assert graph_pool(torch.randn(1, 2, 33, 45), (16, 22)).shape[2:] == (3, 3)


def test_graph_geometry_fixed_2x2_kernel():
    assert graph_pool_kernel(64, 128, kernel_size=2) == (2, 2)
    assert graph_pool_kernel(64, 128, 0.5, kernel_size=(2, 4)) == (2, 4)
    assert graph_pool(torch.randn(1, 3, 64, 128),
                      (2, 2)).shape == (1, 3, 32, 64)


@pytest.mark.parametrize(
    'shape,pool_scale,kernel_size,kh,kw',
    [
        ((2, 6, 13, 13), 0.5, None, 6, 6),  # 3x3 graph, 1-pixel last windows
        ((2, 6, 9, 11), 0.5, None, 4, 5),
        ((2, 6, 8, 12), None, 2, 2, 2),  # CIRKD's fixed 2x2 kernel
        ((1, 5, 4, 6), None, 1, 1, 1),  # no pooling
    ])
def test_pairwise_matches_window_loop(shape, pool_scale, kernel_size, kh, kw):
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(shape, generator=gen, dtype=torch.float64)
    t = torch.randn(
        (shape[0], 9) + shape[2:], generator=gen,
        dtype=torch.float64)  # teacher has more channels
    expected = reference_pairwise(s.numpy(), t.numpy(), kh, kw)
    for detach_norm in (True, False):
        loss = SKDPairWiseLoss(
            pool_scale=pool_scale,
            kernel_size=kernel_size,
            detach_norm=detach_norm,
            loss_weight=0.5)
        assert loss(s, t).item() == pytest.approx(0.5 * expected, rel=1e-5)


def test_pairwise_hand_value():
    # 1x2 map, kernel 1: nodes s = (1, 0), (0, 1) -> a^S = I;
    # t = (1, 0), (1, 0) -> a^T = all ones; mean of (a^T - a^S)^2 = 2/4
    s = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    t = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]]]])
    assert SKDPairWiseLoss(kernel_size=1)(s, t).item() == pytest.approx(
        0.5, rel=1e-6)
    # a one-element kernel is the same square kernel (a config's list)
    assert SKDPairWiseLoss(kernel_size=[1])(s, t).item() == pytest.approx(
        0.5, rel=1e-6)


def test_pairwise_zero_when_equal_or_rescaled():
    t = torch.randn(2, 8, 13, 13)
    for loss in (SKDPairWiseLoss(),
                 SKDPairWiseLoss(kernel_size=2, detach_norm=False)):
        assert loss(t, t.clone()).item() == pytest.approx(0, abs=1e-10)
        # cosine similarities ignore a positive scale of the whole map
        assert loss(3.0 * t, t).item() == pytest.approx(0, abs=1e-10)
        assert loss(torch.randn(2, 8, 13, 13), t).item() > 0


def test_detach_norm_changes_gradient_not_value():
    gen = torch.Generator().manual_seed(1)
    t = torch.randn(2, 7, 10, 10, generator=gen)
    s0 = torch.randn(2, 3, 10, 10, generator=gen)
    values, grads = [], []
    for detach_norm in (True, False):
        s = s0.clone().requires_grad_(True)
        value = SKDPairWiseLoss(kernel_size=2, detach_norm=detach_norm)(s, t)
        value.backward()
        values.append(value.item())
        grads.append(s.grad)
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    assert not torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-6)
    # with the norm differentiable, the gradient at each node is orthogonal
    # to that node's vector (cosine is scale invariant); detached, it is not
    nodes = s0.view(2, 3, 5, 2, 5, 2)
    g = [gr.view(2, 3, 5, 2, 5, 2) for gr in grads]
    radial = [(gi * nodes).sum().abs().item() for gi in g]
    assert radial[1] < 1e-5 and radial[0] > 1e-4


def test_pairwise_gradient_precision_and_channels():
    assert_grad_to_student_only(
        SKDPairWiseLoss(), (2, 4, 13, 13), teacher_shape=(2, 16, 13, 13))
    assert_grad_to_student_only(
        SKDPairWiseLoss(kernel_size=2, detach_norm=False), (2, 4, 8, 8))
    assert_finite_under_low_precision(
        SKDPairWiseLoss(), (2, 4, 13, 13), teacher_shape=(2, 16, 13, 13))
    assert_finite_under_low_precision(
        SKDPairWiseLoss(kernel_size=2, detach_norm=False), (2, 4, 8, 8),
        scale=300.0)


def test_pairwise_errors_name_the_fix():
    with pytest.raises(ValueError, match='ResizeConnector'):
        SKDPairWiseLoss()(torch.randn(1, 4, 8, 8), torch.randn(1, 4, 16, 16))
    with pytest.raises(ValueError, match='B, C, H, W'):
        SKDPairWiseLoss()(torch.randn(1, 16, 4), torch.randn(1, 16, 4))
    with pytest.raises(ValueError, match='pool_scale'):
        SKDPairWiseLoss(pool_scale=0)
    with pytest.raises(ValueError, match='kernel_size'):
        SKDPairWiseLoss(kernel_size=0)
    assert 'kernel_size=2' in repr(SKDPairWiseLoss(kernel_size=2))
    assert 'pool_scale=0.5' in repr(SKDPairWiseLoss())
