# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg_kd.distill import Distiller
from mmseg_kd.losses import (CGDLoss, ChannelWiseDivergence, KDLoss,
                             channel_group_divergence,
                             channel_group_log_softmax, channel_group_softmax)
from mmseg_kd.losses.cgd_loss import shuffle_permutation
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def reference_groups(z, g, tau):
    """The reference layout: pad with -1e9 channels (float64 here), reshape
    to (B, K'/g, g*H*W), softmax over each row."""
    b, k = z.shape[:2]
    pad = (g - k % g) % g
    z = np.concatenate([z, np.full((b, pad) + z.shape[2:], -1e9)], axis=1)
    rows = z.reshape(b, (k + pad) // g, -1) / tau
    e = np.exp(rows - rows.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


def reference_cgd(s, t, g, tau):
    """Loop over (image, group): KL summed over the group's entries, mean
    over images and groups, no tau^2."""
    p_s, p_t = reference_groups(s, g, tau), reference_groups(t, g, tau)
    b, groups = p_s.shape[:2]
    total = 0.0
    for n in range(b):
        for k in range(groups):
            pt, ps = p_t[n, k], p_s[n, k]
            keep = pt > 0
            total += float(np.sum(pt[keep] * np.log(pt[keep] / ps[keep])))
    return total / (b * groups)


def randn(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


# (11, 10) and (21, 10) are CamVid and VOC at the shipped g: K mod g != 0
# with ceil(K / G) != g, where a group size inferred from the group count
# would mix the groups' normalisers
@pytest.mark.parametrize('k,g,tau', [(19, 10, 2.0), (20, 10, 2.0), (6, 3, 1.0),
                                     (5, 1, 4.0), (7, 7, 2.0), (4, 6, 1.0),
                                     (11, 10, 2.0), (21, 10, 1.0),
                                     (7, 3, 1.0)])
def test_cgd_matches_group_loop(k, g, tau):
    s, t = randn(2, k, 3, 4, seed=k), randn(2, k, 3, 4, seed=k + 1)
    expected = reference_cgd(s.numpy(), t.numpy(), g, tau)
    assert channel_group_divergence(s, t, g, tau).item() == pytest.approx(
        expected, rel=1e-10)
    loss = CGDLoss(group_size=g, tau=tau, loss_weight=3.0)
    assert loss(s, t).item() == pytest.approx(3.0 * expected, rel=1e-5)


def test_cgd_padding_channel_has_zero_probability():
    z = randn(2, 19, 3, 4)
    probs = channel_group_softmax(z, 10, tau=2.0)
    assert probs.shape == (2, 2, 10 * 12)
    # channel 19 (the padding, last in group 1) is exactly zero
    assert torch.equal(probs[:, 1, 9 * 12:],
                       torch.zeros(2, 12, dtype=probs.dtype))
    assert torch.allclose(
        probs.sum(dim=2), torch.ones(2, 2, dtype=probs.dtype))
    expected = reference_groups(z.numpy(), 10, 2.0)
    assert np.allclose(probs.numpy(), expected, rtol=1e-10, atol=1e-300)
    # group 1 alone: the 9 real channels, one softmax over 9 * 12 entries
    manual = F.softmax(z[:, 10:].reshape(2, -1) / 2.0, dim=1)
    assert torch.allclose(probs[:, 1, :9 * 12], manual)


@pytest.mark.parametrize('k', [11, 21])
def test_cgd_every_group_is_one_distribution(k):
    log_p = channel_group_log_softmax(randn(2, k, 3, 4, seed=k), 10, 1.0)
    for start in range(0, k, 10):
        total = log_p[:, start:start + 10].exp().sum(dim=(1, 2))
        assert torch.allclose(total, torch.ones(2, dtype=total.dtype))


def test_cgd_group_size_one_is_cwd_without_tau_squared():
    s, t = randn(2, 5, 4, 4), randn(2, 5, 4, 4, seed=1)
    for tau in (1.0, 4.0):
        cd = CGDLoss(group_size=1, tau=tau)(s, t)
        cwd = ChannelWiseDivergence(tau=tau)(s, t)
        assert cd.item() == pytest.approx(cwd.item() / tau**2, rel=1e-5)


def test_cgd_group_size_k_is_one_joint_softmax():
    s, t = randn(2, 6, 3, 3), randn(2, 6, 3, 3, seed=1)
    log_p_s = F.log_softmax(s.reshape(2, -1) / 2.0, dim=1)
    log_p_t = F.log_softmax(t.reshape(2, -1) / 2.0, dim=1)
    joint = (log_p_t.exp() * (log_p_t - log_p_s)).sum() / 2
    assert channel_group_divergence(s, t, 6, 2.0).item() == pytest.approx(
        joint.item(), rel=1e-10)


def test_cgd_zero_when_equal_and_group_shift_invariant():
    z = randn(2, 19, 4, 4)
    assert CGDLoss()(z, z.clone()).item() == pytest.approx(0, abs=1e-7)
    # one constant added to a whole group leaves its distribution unchanged
    shift = torch.zeros(2, 19, 1, 1, dtype=z.dtype)
    shift[0, :10] = 5.0
    shift[1, 10:] = -3.0
    assert channel_group_divergence(z + shift, z, 10, 2.0).item() == \
        pytest.approx(0, abs=1e-12)
    assert CGDLoss()(z, randn(2, 19, 4, 4, seed=5)).item() > 0


def test_cgd_shuffle_only_at_multiples_of_the_interval():
    """The reference counts steps from 1: with interval 3 it shuffles at
    steps 3, 6 (runner iterations 2, 5), never at the first step."""
    s, t = randn(2, 12, 3, 3), randn(2, 12, 3, 3, seed=1)
    loss = CGDLoss(group_size=4, tau=1.0, shuffle_interval=3)
    plain = CGDLoss(group_size=4, tau=1.0)(s, t).item()
    for it in range(8):
        value = loss(s, t, iteration=it).item()
        if (it + 1) % 3:
            assert not loss.shuffles_at(it)
            assert value == pytest.approx(plain, rel=1e-6)
        else:
            assert it in (2, 5) and loss.shuffles_at(it)
            perm = shuffle_permutation(12, it + 1)
            assert value == pytest.approx(
                channel_group_divergence(s[:, perm], t[:, perm], 4,
                                         1.0).item(),
                rel=1e-5)
            assert value != pytest.approx(plain, rel=1e-3)
            # the same permutation on both sides: equal inputs stay at 0
            assert loss(
                s, s.clone(), iteration=it).item() == pytest.approx(
                    0, abs=1e-7)
    # reproducible per iteration (resume, DDP ranks), different across them
    assert torch.equal(shuffle_permutation(12, 6), shuffle_permutation(12, 6))
    assert not torch.equal(
        shuffle_permutation(12, 3), shuffle_permutation(12, 6))


def test_cgd_resize_to_fixed_size_and_mismatched_resolutions():
    s, t = randn(2, 11, 8, 8), randn(2, 11, 4, 4, seed=1)
    loss = CGDLoss(group_size=10, resize_to=(16, 16))
    assert not loss.uses_labels
    up = dict(size=(16, 16), mode='bilinear', align_corners=False)
    expected = channel_group_divergence(
        F.interpolate(s, **up), F.interpolate(t, **up), 10, 2.0)
    assert loss(s, t).item() == pytest.approx(expected.item(), rel=1e-5)


def test_cgd_resize_to_labels_through_the_distiller():
    s, t = randn(2, 11, 6, 6).float(), randn(2, 11, 6, 6, seed=1).float()
    labels = torch.randint(0, 11, (2, 24, 24))
    labels[:, :5] = 255
    losses = dict(
        loss_cgd=dict(
            type='CGDLoss',
            student='logits',
            teacher='logits',
            resize_to='labels',
            loss_weight=3.0),
        loss_kd=dict(
            type='KDLoss',
            student='logits',
            teacher='logits',
            ignore_index=255))
    distiller = Distiller(losses, dict(logits=s), dict(logits=t))
    cgd = distiller.losses['loss_cgd']
    assert cgd.uses_labels and cgd.full_resolution_labels
    assert distiller.uses_labels
    terms = distiller(dict(logits=s), dict(logits=t), labels).terms
    up = dict(size=(24, 24), mode='bilinear', align_corners=False)
    expected = 3.0 * channel_group_divergence(
        F.interpolate(s, **up), F.interpolate(t, **up), 10, 2.0)
    assert terms['loss_cgd'].item() == pytest.approx(expected.item(), rel=1e-5)
    # the other loss still gets labels nearest-resized to the logits
    small = F.interpolate(
        labels[:, None].float(), size=(6, 6), mode='nearest')[:, 0].long()
    assert terms['loss_kd'].item() == pytest.approx(
        KDLoss(ignore_index=255)(s, t, small).item(), rel=1e-6)
    with pytest.raises(ValueError, match='labels'):
        cgd(s, t)


def test_cgd_gradient_and_precision():
    assert_grad_to_student_only(CGDLoss(), (2, 19, 4, 4))
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    assert_grad_to_student_only(
        CGDLoss(resize_to='labels'), (2, 19, 4, 4), labels=labels)
    for g in (1, 10, 19):
        assert_finite_under_low_precision(
            CGDLoss(group_size=g, tau=1.0), (2, 19, 4, 4), scale=300.0)
    assert_finite_under_low_precision(
        CGDLoss(resize_to='labels', shuffle_interval=1), (2, 19, 4, 4),
        labels=labels,
        scale=300.0)


def test_cgd_errors_name_the_fix():
    with pytest.raises(ValueError, match="resize_to='labels'"):
        CGDLoss()(torch.randn(1, 19, 8, 8), torch.randn(1, 19, 4, 4))
    with pytest.raises(ValueError, match='num_classes'):
        CGDLoss()(torch.randn(1, 19, 8, 8), torch.randn(1, 11, 8, 8))
    with pytest.raises(ValueError, match='num_classes'):
        CGDLoss(resize_to=(8, 8))(torch.randn(1, 19, 8, 8),
                                  torch.randn(1, 11, 4, 4))
    with pytest.raises(ValueError, match='B, K, H, W'):
        CGDLoss()(torch.randn(2, 19, 8), torch.randn(2, 19, 8))
    with pytest.raises(ValueError, match='resize_to'):
        CGDLoss(resize_to='gt')
    with pytest.raises(ValueError, match='group_size'):
        CGDLoss(group_size=0)
    with pytest.raises(ValueError, match='shuffle_interval'):
        CGDLoss(shuffle_interval=0)


@pytest.mark.parametrize('scale', [1e2, 1e4])
def test_grouped_log_softmax_keeps_precision_at_large_logits(scale):
    """The group maximum is subtracted first, as log_softmax does: fp32
    logits of 1e2 and 1e4 keep log_softmax's accuracy (the unshifted form
    lost 1e-6 and 5e-5 relative)."""
    z = (torch.randn(
        2,
        10,
        5,
        5,
        generator=torch.Generator().manual_seed(3),
        dtype=torch.float64) * scale).float()

    def error(got, exact):
        return float(
            ((got.double() - exact).abs() / exact.abs().clamp(min=1)).max())

    flat = z.reshape(2, -1)
    limit = 3 * error(F.log_softmax(flat, 1), F.log_softmax(flat.double(), 1))
    for g in (3, 5, 10):  # 3: a padded last group
        exact = channel_group_log_softmax(z.double(), g)
        assert error(channel_group_log_softmax(z, g), exact) <= limit, g
