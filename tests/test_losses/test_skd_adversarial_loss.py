# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy

import pytest
import torch
from torch import nn

from mmseg_kd.distill import SAGANDiscriminator
from mmseg_kd.losses import (CriticNetwork, SKDAdversarialLoss, SKDCritic,
                             critic_loss, generator_loss, gradient_penalty)
from mmseg_kd.utils import frozen


class Linear(CriticNetwork):
    """D(x) = <w, x> per sample: its input gradient is w everywhere."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape))

    def forward(self, x, image=None):
        return (x * self.w).flatten(1).sum(1)


class Quadratic(nn.Module):
    """D(x) = |x|^2 / 2 per sample: its input gradient is x itself."""

    def forward(self, x, image=None):
        return 0.5 * x.flatten(1).pow(2).sum(1)


def test_gradient_penalty_by_hand():
    s, t = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4)
    lin = Linear((2, 4, 4))
    expected = (lin.w.detach().norm() - 1)**2
    assert gradient_penalty(lin, s, t).item() == pytest.approx(
        expected.item(), rel=1e-5)
    alpha = torch.tensor([0.0, 0.5, 1.0]).view(3, 1, 1, 1)
    x_hat = alpha * t + (1 - alpha) * s
    expected = ((x_hat.flatten(1).norm(dim=1) - 1)**2).mean()
    got = gradient_penalty(Quadratic(), s, t, alpha=alpha)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_penalty_has_gradient_for_the_critic():
    lin = Linear((2, 3, 3))
    gradient_penalty(lin, torch.randn(2, 2, 3, 3), torch.randn(2, 2, 3,
                                                               3)).backward()
    # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    w = lin.w.detach()
    assert torch.allclose(
        lin.w.grad, 2 * (w.norm() - 1) * w / w.norm(), atol=1e-5)


def test_critic_and_generator_terms():
    s, t = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.5])
    assert critic_loss(s, t, 'wgan-gp').item() == pytest.approx(2.0 + 0.75)
    # hinge: mean relu(1 - t) + mean relu(1 + s) = (3 + .5)/2 + (2 + 4)/2
    assert critic_loss(s, t, 'hinge').item() == pytest.approx(1.75 + 3.0)
    assert generator_loss(s).item() == pytest.approx(-2.0)


def attached(**kw):
    """An SKD adversarial loss and its critic (a small discriminator for
    5-class maps)."""
    loss = SKDAdversarialLoss(
        dict(type='SAGANDiscriminator', base_channels=4), **kw)
    return loss, loss.build_critic(5)


def test_critic_is_built_for_the_maps():
    loss, critic = attached()
    assert isinstance(critic, SKDCritic) and isinstance(
        critic.net, SAGANDiscriminator)
    assert critic.net.in_channels == 5
    image = SKDAdversarialLoss(
        dict(
            type='SAGANDiscriminator',
            base_channels=4,
            preprocess='softmax_image')).build_critic(5)
    assert image.net.in_channels == 8  # the maps and the RGB image


def test_student_term_never_reaches_the_discriminator():
    """Frozen as the segmentor freezes it, the critic gets no gradient from
    the student's term, and is trainable again afterwards."""
    loss, critic = attached(loss_weight=0.1)
    twin = copy.deepcopy(critic)  # the same D state (BN, power iteration)
    s = torch.randn(2, 5, 16, 16, requires_grad=True)
    t = torch.randn(2, 5, 16, 16, requires_grad=True)
    with frozen(critic):
        value = loss(s, t, critic=critic)
    value.backward()
    assert s.grad is not None and t.grad is None
    assert all(p.grad is None for p in critic.parameters())
    assert all(p.requires_grad for p in critic.parameters())
    with torch.no_grad():
        expected = -0.1 * twin(s).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match='critic'):
        loss(s, t)


def test_discriminator_terms_never_reach_the_student():
    loss, critic = attached(d_loss_weight=0.1, gp_weight=10.0)
    s = torch.randn(2, 5, 16, 16, requires_grad=True)
    t = torch.randn(2, 5, 16, 16)
    terms = critic.loss(s, t)
    assert set(terms) == {'d', 'gp'}
    sum(terms.values()).backward()
    assert s.grad is None
    assert all(p.grad is not None for p in critic.parameters())
    hinge, critic2 = attached(gan_type='hinge')
    assert set(critic2.loss(s, t)) == {'d'}
    with pytest.raises(ValueError, match='gan_type'):
        SKDAdversarialLoss(dict(type='SAGANDiscriminator'), gan_type='lsgan')


def test_alpha_generator_state_is_checkpointed():
    _, a = attached()
    s, t = torch.randn(2, 5, 16, 16), torch.randn(2, 5, 16, 16)
    a.loss(s, t)
    _, b = attached(seed=7)
    b.load_state_dict(a.state_dict())
    torch.manual_seed(0)
    first = a.loss(s, t)['gp']
    torch.manual_seed(1)  # the global RNG plays no part
    second = b.loss(s, t)['gp']
    assert first.item() == pytest.approx(second.item(), rel=1e-5)


def test_penalty_space_is_declared_by_the_network():
    """SKD master takes the penalty on the raw logits; the CVPR'19
    image-and-softmax critic on its preprocessed input."""
    s, t = torch.randn(2, 5, 8, 8), torch.randn(2, 5, 8, 8)
    image = torch.randn(2, 3, 16, 16)
    raw = SAGANDiscriminator(5, 4, preprocess='bn').eval()
    ps, pt, score = raw.penalty_inputs(s, t, image)
    assert ps is s and pt is t
    assert torch.equal(score(s), raw(s, image))
    net = SAGANDiscriminator(8, 4, preprocess='softmax_image').eval()
    ps, pt, score = net.penalty_inputs(s, t, image)
    assert ps.shape == (2, 8, 8, 8)
    assert torch.allclose(ps[:, 3:].sum(1), torch.ones(2, 8, 8))
    assert torch.equal(score(ps), net(s, image))


def test_critic_network_required():
    with pytest.raises(TypeError, match='CriticNetwork'):
        SKDCritic(nn.Linear(2, 1), 'wgan-gp', 0.1, 10.0)
