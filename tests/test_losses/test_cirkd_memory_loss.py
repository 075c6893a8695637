# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg_kd.losses import CIRKDMemoryLoss


def make(**kw):
    args = dict(
        num_classes=3,
        student_channels=4,
        teacher_channels=5,
        pixel_memory_size=10,
        region_memory_size=4,
        pixels_per_class=2,
        num_pixel_keys=6,
        num_region_keys=3)
    args.update(kw)
    return CIRKDMemoryLoss(**args)


def test_queues_start_as_unit_noise_and_sampling_sizes():
    loss = make()
    assert loss.pixel_queue.shape == (3, 10, 5)
    assert torch.allclose(loss.pixel_queue.norm(dim=-1), torch.ones(3, 10))
    # n = N // K + 1 keys per class
    assert (loss.num_pixel_keys, loss.num_region_keys) == (3, 2)
    pix, reg = loss.sample_keys()
    assert pix.shape == (9, 5) and reg.shape == (6, 5)
    with pytest.raises(ValueError, match='enlarge'):
        make(pixel_memory_size=2)


def test_enqueue_pointers_and_wrap_around():
    loss = make(pixel_memory_size=5, num_pixel_keys=3)
    feats = F.normalize(torch.randn(1, 5, 2, 3), dim=1)
    labels = torch.tensor([[[0, 0, 0], [1, 255, 2]]])
    loss.enqueue(feats, labels)
    assert loss.pixel_ptr.tolist() == [2, 1, 1]
    assert loss.region_ptr.tolist() == [1, 1, 1]
    loss.enqueue(feats, labels)
    assert loss.pixel_ptr.tolist() == [4, 2, 2]
    # class 0 has 3 pixels, 2 taken per image: 4 + 2 >= 5 -> last 2 slots,
    # pointer back to 0
    before = loss.pixel_queue[0, :3].clone()
    loss.enqueue(feats, labels)
    assert loss.pixel_ptr.tolist() == [0, 3, 3]
    assert torch.equal(loss.pixel_queue[0, :3], before)
    flat = feats[0].flatten(1).t()
    class0 = flat[:3]
    for row in loss.pixel_queue[0, 3:]:
        assert any(torch.allclose(row, c) for c in class0)
    # region slots hold the normalised class means, at the pointer
    assert torch.allclose(
        loss.region_queue[0, 2], F.normalize(class0.mean(0), dim=0), atol=1e-6)
    assert torch.allclose(loss.region_queue[2, 2], flat[5], atol=1e-6)


def test_enqueue_modes():
    feats = F.normalize(torch.randn(1, 5, 1, 8), dim=1)
    labels = torch.tensor([[[2, 2, 2, 1, 0, 0, 2, 2]]])  # class 1: 1 pixel
    flat = feats[0].flatten(1).t()
    cls = make(pixels_per_class=8)
    cls.enqueue(feats, labels)
    assert torch.allclose(cls.pixel_queue[1, 0], flat[3])
    written = cls.pixel_queue[2, :5]
    assert all(
        any(torch.allclose(r, flat[i]) for i in (0, 1, 2, 6, 7))
        for r in written)
    ref = make(pixels_per_class=8, enqueue_mode='reference')
    ref.enqueue(feats, labels)
    # the reference takes positions among the first n_k of the image:
    # class 1 (n=1) gets pixel 0, which is labelled 2
    assert torch.allclose(ref.pixel_queue[1, 0], flat[0])


def test_value_matches_independent_computation():
    gen = torch.Generator().manual_seed(0)
    loss = make(kd_tau=2.0, pixel_weight=0.3, region_weight=0.7)
    s = torch.randn(2, 4, 3, 3, generator=gen)
    t = torch.randn(2, 5, 3, 3, generator=gen)
    labels = torch.randint(0, 3, (2, 3, 3), generator=gen)
    labels[0, 0] = 255
    twin = copy.deepcopy(loss)
    out = loss(s, t, labels)
    # independent: same enqueue (twin), same draws, explicit numpy KL
    t_hat = F.normalize(t, dim=1)
    twin.enqueue(t_hat, labels)
    pix, reg = twin.sample_keys()
    s_hat = F.normalize(twin.projector(s), dim=1)
    mask = (labels != 255).flatten()
    s_v = s_hat.permute(0, 2, 3, 1).reshape(-1,
                                            5)[mask].detach().double().numpy()
    t_v = t_hat.permute(0, 2, 3, 1).reshape(-1, 5)[mask].double().numpy()

    def kl(keys, temp):
        keys = keys.double().numpy()
        a_s = s_v @ keys.T / 0.1 / temp
        a_t = t_v @ keys.T / 0.1 / temp
        log_ps = a_s - np.log(np.exp(a_s).sum(1, keepdims=True))
        log_pt = a_t - np.log(np.exp(a_t).sum(1, keepdims=True))
        return temp**2 * np.mean(np.sum(np.exp(log_pt) * (log_pt - log_ps), 1))

    assert out['pixel'].item() == pytest.approx(0.3 * kl(pix, 2.0), rel=1e-4)
    assert out['region'].item() == pytest.approx(0.7 * kl(reg, 2.0), rel=1e-4)


def test_gradient_to_student_and_projector_only():
    loss = make()
    s = torch.randn(2, 4, 3, 3, requires_grad=True)
    t = torch.randn(2, 5, 3, 3, requires_grad=True)
    labels = torch.randint(0, 3, (2, 3, 3))
    out = loss(s, t, labels)
    sum(out.values()).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None
    assert all(p.grad is not None for p in loss.projector.parameters())
    assert not loss.pixel_queue.requires_grad


def test_all_ignore_is_zero_and_connected_and_enqueues_nothing():
    loss = make()
    s = torch.randn(1, 4, 2, 2, requires_grad=True)
    out = loss(s, torch.randn(1, 5, 2, 2), torch.full((1, 2, 2), 255))
    assert out['pixel'].item() == 0 and out['region'].item() == 0
    sum(out.values()).backward()
    assert s.grad is not None  # connected (DDP needs every parameter used)
    assert torch.equal(s.grad, torch.zeros_like(s))
    assert loss.pixel_ptr.tolist() == [0, 0, 0]


def test_non_finite_teacher_features_stay_out_of_the_memories():
    """A step the non-finite guard skips must not poison later steps: the
    image with a NaN feature enqueues nothing, the finite one does."""
    loss = make()
    before = (loss.pixel_queue.clone(), loss.region_queue.clone())
    feats = F.normalize(torch.randn(2, 5, 2, 2), dim=1)
    feats[0, 1, 0, 0] = float('nan')
    labels = torch.zeros(2, 2, 2, dtype=torch.long)
    loss.enqueue(feats, labels)
    assert loss.pixel_ptr.tolist() == [2, 0, 0]  # image 1's 2 pixels only
    assert loss.region_ptr.tolist() == [1, 0, 0]
    assert torch.isfinite(loss.pixel_queue).all()
    assert torch.isfinite(loss.region_queue).all()
    assert torch.equal(loss.pixel_queue[1:], before[0][1:])


def test_state_round_trip_continues_identically():
    a = make()
    feats = F.normalize(torch.randn(2, 5, 3, 3), dim=1)
    labels = torch.randint(0, 3, (2, 3, 3))
    a.enqueue(feats, labels)
    b = make(seed=123)  # different start, then loads a's state
    b.load_state_dict(a.state_dict())
    for loss in (a, b):
        loss.enqueue(feats, labels)
    keys_a, keys_b = a.sample_keys(), b.sample_keys()
    assert torch.equal(a.pixel_queue, b.pixel_queue)
    assert torch.equal(a.pixel_ptr, b.pixel_ptr)
    assert all(torch.equal(x, y) for x, y in zip(keys_a, keys_b))


def test_inputs_checked_before_they_reach_the_queues():
    """A batch mismatch, wrong-size labels or a wrong student channel count
    gave IndexErrors or a conv error deep inside; now each names itself."""
    loss = make()
    before = loss.pixel_queue.clone()
    s, t = torch.randn(2, 4, 6, 6), torch.randn(2, 5, 6, 6)
    labels = torch.randint(0, 3, (2, 6, 6))
    with pytest.raises(ValueError, match='same batch size'):
        loss(s, t[:1], labels)
    with pytest.raises(ValueError, match='for the 2 images'):
        loss(s, t, labels[:1])
    with pytest.raises(ValueError, match="tensors' size"):
        loss(s, t, torch.randint(0, 3, (2, 12, 12)))
    with pytest.raises(ValueError, match='4 student channels, got 3'):
        loss(torch.randn(2, 3, 6, 6), t, labels)
    with pytest.raises(ValueError, match='5 teacher channels, got 6'):
        loss(s, torch.randn(2, 6, 6, 6), labels)
    assert torch.equal(before, loss.pixel_queue)  # nothing enqueued
