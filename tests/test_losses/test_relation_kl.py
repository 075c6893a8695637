# Copyright (c) mmseg_kd contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmseg_kd.losses import chunked_relation_kl


def naive(qs, ks, qt, kt, tau, kappa, scale):
    s = qs @ ks.t() / tau / kappa
    t = qt @ kt.t() / tau / kappa
    return scale * (F.softmax(t, 1) *
                    (F.log_softmax(t, 1) - F.log_softmax(s, 1))).sum()


@pytest.mark.parametrize('chunk', [1, 3, 7, None])
def test_equals_autograd_in_value_and_gradient(chunk):
    gen = torch.Generator().manual_seed(0)
    qs = torch.randn(
        7, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    ks = torch.randn(
        5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    qt = torch.randn(7, 6, generator=gen, dtype=torch.float64)
    kt = torch.randn(5, 6, generator=gen, dtype=torch.float64)
    got = chunked_relation_kl(qs, ks, qt, kt, 0.5, 2.0, 0.3, chunk)
    (3 * got).backward()
    grads = qs.grad.clone(), ks.grad.clone()
    qs.grad = ks.grad = None
    ref = naive(qs, ks, qt, kt, 0.5, 2.0, 0.3)
    (3 * ref).backward()
    assert got.item() == pytest.approx(ref.item(), rel=1e-12)
    assert torch.allclose(grads[0], qs.grad, atol=1e-12)
    assert torch.allclose(grads[1], ks.grad, atol=1e-12)


def test_shared_query_and_key_and_frozen_keys():
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(
        6, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    t = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    chunked_relation_kl(q, q, t, t, 0.1, chunk=4).backward()
    grad = q.grad.clone()
    q.grad = None
    naive(q, q, t, t, 0.1, 1.0, 1.0).backward()
    assert torch.allclose(grad, q.grad, atol=1e-10)
    keys = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    q.grad = None
    chunked_relation_kl(
        q, keys, t, torch.randn(5, 4, dtype=torch.float64), 0.1,
        chunk=2).backward()
    assert q.grad is not None and keys.grad is None
