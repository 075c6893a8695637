# Copyright (c) mmseg_kd contributors. All rights reserved.
import inspect

import numpy as np
import pytest
import torch

from mmseg_kd.losses import MGDLoss
from ..loss_checks import (assert_finite_under_low_precision,
                           assert_grad_to_student_only)


def np_conv(x, weight, bias, pad):
    """(B, Ci, H, W) * (Co, Ci, k, k) + bias, stride 1, zero padding, by
    explicit sums over the kernel taps."""
    b, ci, h, w = x.shape
    co, _, k, _ = weight.shape
    xp = np.zeros((b, ci, h + 2 * pad, w + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + w] = x
    out = np.zeros((b, co, h, w))
    for o in range(co):
        out[:, o] = bias[o]
        for i in range(ci):
            for dy in range(k):
                for dx in range(k):
                    out[:, o] += weight[o, i, dy, dx] * \
                        xp[:, i, dy:dy + h, dx:dx + w]
    return out


def np_params(module):
    return (module.weight.detach().double().numpy(),
            module.bias.detach().double().numpy())


def reference_mgd(loss, s, t, uniforms):
    """MGD by hand: align (1x1), zero the positions where u > 1 - lambda,
    conv 3x3, ReLU, conv 3x3, sum of squared errors / B."""
    x = s
    if loss.align is not None:
        x = np_conv(x, *np_params(loss.align), pad=0)
    keep = np.where(uniforms > 1 - loss.mask_ratio, 0.0, 1.0)
    x = x * keep
    x = np.maximum(np_conv(x, *np_params(loss.generation[0]), pad=1), 0)
    x = np_conv(x, *np_params(loss.generation[2]), pad=1)
    return float(((x - t)**2).sum()) / s.shape[0]


def next_uniforms(loss, shape):
    """The uniforms the loss will draw next, from a copy of its state."""
    gen = torch.Generator()
    gen.set_state(loss.mask_rng.generator.get_state())
    return torch.rand(shape, generator=gen).double().numpy()


@pytest.mark.parametrize('cs,ct', [(3, 5), (4, 4)])
def test_mgd_matches_explicit_convolutions(cs, ct):
    torch.manual_seed(0)
    loss = MGDLoss(cs, ct, seed=3, loss_weight=2e-5)
    assert (loss.align is None) == (cs == ct)
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(2, cs, 5, 6, generator=gen)
    t = torch.randn(2, ct, 5, 6, generator=gen)
    uniforms = next_uniforms(loss, (2, 1, 5, 6))
    expected = reference_mgd(loss,
                             s.double().numpy(),
                             t.double().numpy(), uniforms)
    assert loss(s, t).item() == pytest.approx(2e-5 * expected, rel=1e-5)


def test_mgd_mask_ratio_seed_and_shape():
    loss = MGDLoss(2, 2, mask_ratio=0.75, seed=0)
    mask = loss.draw_mask(2, 100, 100)
    assert mask.shape == (2, 1, 100, 100)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert 1 - mask.mean().item() == pytest.approx(0.75, abs=0.02)
    # the same seed gives the same sequence of masks, another seed not
    a, b, c = (MGDLoss(2, 2, seed=s) for s in (7, 7, 8))
    for _ in range(2):
        ma, mb, mc = (m.draw_mask(2, 6, 6) for m in (a, b, c))
        assert torch.equal(ma, mb) and not torch.equal(ma, mc)
    # masks do not depend on the global RNG
    torch.manual_seed(123)
    first = MGDLoss(2, 2, seed=5).draw_mask(1, 8, 8)
    torch.manual_seed(456)
    assert torch.equal(first, MGDLoss(2, 2, seed=5).draw_mask(1, 8, 8))
    # ratio 0 masks nothing: the loss is the plain generation MSE
    assert MGDLoss(2, 2, mask_ratio=0.0).draw_mask(1, 9, 9).min() == 1.0


def test_mgd_masks_differ_between_ranks(monkeypatch):
    """Under DDP each rank keeps its slice of the masks of all ranks: rank r
    of 2 gets images r*B..(r+1)*B-1 of a 2B draw, and every rank's
    generator ends in the same state (the checkpoint holds rank 0's)."""
    import mmseg_kd.losses.mgd_loss as mgd_module
    single = MGDLoss(2, 2, seed=3).draw_mask(4, 6, 6)  # 2 ranks x B=2
    masks, states = [], []
    for rank in (0, 1):
        monkeypatch.setattr(mgd_module, 'get_world_size', lambda: 2)
        monkeypatch.setattr(mgd_module, 'get_rank', lambda r=rank: r)
        loss = MGDLoss(2, 2, seed=3)
        masks.append(loss.draw_mask(2, 6, 6))
        states.append(loss.mask_rng.generator.get_state())
    assert torch.equal(masks[0], single[:2])
    assert torch.equal(masks[1], single[2:])
    assert not torch.equal(masks[0], masks[1])
    assert torch.equal(states[0], states[1])


def test_mgd_state_round_trips_through_state_dict():
    gen = torch.Generator().manual_seed(2)
    s = torch.randn(2, 3, 4, 4, generator=gen)
    t = torch.randn(2, 6, 4, 4, generator=gen)
    original = MGDLoss(3, 6, seed=11)
    original(s, t)  # advances the generator
    state = original.state_dict()
    assert any(key.endswith('_extra_state') for key in state)
    expected_value = original(s, t)
    expected_mask = original.draw_mask(2, 4, 4)

    resumed = MGDLoss(3, 6, seed=999)
    resumed.load_state_dict(state)
    assert resumed(s, t).item() == expected_value.item()
    assert torch.equal(resumed.draw_mask(2, 4, 4), expected_mask)


def test_mgd_trains_its_modules_not_the_teacher():
    loss = MGDLoss(3, 5)
    assert_grad_to_student_only(loss, (2, 3, 4, 4), (2, 5, 4, 4))
    for p in loss.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert_finite_under_low_precision(
        MGDLoss(3, 5), (2, 3, 8, 8), (2, 5, 8, 8), scale=300.0)


def test_mgd_defaults_registry_and_channel_arguments():
    from mmseg.registry import MODELS
    loss = MODELS.build(
        dict(type='MGDLoss', student_channels=512, teacher_channels=2048))
    assert loss.mask_ratio == 0.75 and loss.loss_weight == 2e-5
    assert loss.align.in_channels == 512 and loss.align.out_channels == 2048
    # the distiller fills these two from the probed tensors
    params = inspect.signature(MGDLoss.__init__).parameters
    assert 'student_channels' in params and 'teacher_channels' in params


def test_mgd_errors():
    with pytest.raises(ValueError, match='built for 3 student channels'):
        MGDLoss(3, 5)(torch.randn(1, 4, 4, 4), torch.randn(1, 5, 4, 4))
    with pytest.raises(ValueError, match='built for 5 teacher channels'):
        MGDLoss(3, 5)(torch.randn(1, 3, 4, 4), torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match='ResizeConnector'):
        MGDLoss(3, 5)(torch.randn(1, 3, 4, 4), torch.randn(1, 5, 8, 8))
    with pytest.raises(ValueError, match='mask_ratio'):
        MGDLoss(3, 5, mask_ratio=1.0)
