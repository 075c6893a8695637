# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The distiller: a pure step from recorded tensors to a DistillOutput."""
import pytest
import torch

from mmseg_kd.distill import Distiller, DistillOutput
from mmseg_kd.losses import ChannelWiseDivergence, KDLoss, SKDPixelWiseLoss


def tensors(batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        logits=torch.randn(batch, 5, 6, 6, generator=gen),
        feat=torch.randn(batch, 4, 6, 6, generator=gen),
        deep=torch.randn(batch, 4, 3, 3, generator=gen))


def test_output_holds_terms_factors_and_connected_tensors():
    s, t = tensors(), tensors(seed=1)
    t['feat'] = torch.randn(2, 8, 6, 6)
    distiller = Distiller(
        dict(
            loss_kd=dict(type='KDLoss', student='logits', teacher='logits'),
            loss_cwd=dict(
                type='ChannelWiseDivergence',
                student='feat',
                teacher='feat',
                tau=2.0,
                weight_schedule=[dict(type='LinearWarmup', end=4)])),
        s,
        t,
        connectors=dict(feat=dict(type='ChannelConnector')))
    out = distiller(s, t, iteration=1)
    assert isinstance(out, DistillOutput)
    assert set(out.terms) == {'loss_kd', 'loss_cwd'}
    assert out.factors == {'loss_cwd': pytest.approx(0.25)}
    assert out.student['feat'].shape == (2, 8, 6, 6)  # connected
    assert out.teacher['feat'] is t['feat'] and out.adversarial == {}
    expected = 0.25 * ChannelWiseDivergence(tau=2.0)(out.student['feat'],
                                                     t['feat'])
    assert out.terms['loss_cwd'].item() == pytest.approx(
        expected.item(), rel=1e-6)
    assert out.terms['loss_kd'].item() == pytest.approx(
        KDLoss()(s['logits'], t['logits']).item(), rel=1e-6)


def test_zero_factor_terms():
    """A zero-factor term is skipped, unless its graph reaches trainable
    parameters (a connector): then it is computed times 0, so that those
    parameters get a zero gradient, as DDP needs."""
    s, t = tensors(), tensors(seed=1)
    t['feat'] = torch.randn(2, 8, 6, 6)
    stop = [dict(type='Stop', at=0)]
    distiller = Distiller(
        dict(
            loss_kd=dict(
                type='KDLoss',
                student='logits',
                teacher='logits',
                weight_schedule=stop),
            loss_cwd=dict(
                type='ChannelWiseDivergence',
                student='feat',
                teacher='feat',
                weight_schedule=stop)),
        s,
        t,
        connectors=dict(feat=dict(type='ChannelConnector')))
    s = {k: v.requires_grad_() for k, v in s.items()}
    out = distiller(s, t)
    assert out.terms['loss_kd'].item() == 0 and \
        out.terms['loss_kd'].grad_fn is None
    value = out.terms['loss_cwd']
    assert value.item() == 0 and value.grad_fn is not None
    value.backward()
    for p in distiller.connectors.parameters():
        assert p.grad is not None and not p.grad.abs().sum()


def test_multi_stage_routes_pass_lists():
    s, t = tensors(), tensors(seed=1)
    distiller = Distiller(
        dict(
            loss_psd=dict(
                type='DSDPixelSimilarityLoss',
                student=['feat', 'deep'],
                teacher=['feat', 'deep'],
                resize=True)), s, t)
    assert distiller.routes['loss_psd'].student == ('feat', 'deep')
    value = distiller(s, t).terms['loss_psd']
    direct = distiller.losses['loss_psd']([s['feat'], s['deep']],
                                          [t['feat'], t['deep']])
    assert value.item() == pytest.approx(direct.item())
    with pytest.raises(KeyError, match="'nope' is not a recorded"):
        Distiller(
            dict(
                loss_psd=dict(
                    type='DSDPixelSimilarityLoss',
                    student=['feat', 'nope'],
                    teacher=['feat', 'deep'])), s, t)


def _skd(**route):
    s, t = tensors(batch=4), tensors(batch=4, seed=1)
    distiller = Distiller(
        dict(
            loss_pi=dict(
                type='SKDPixelWiseLoss',
                student='logits',
                teacher='logits',
                loss_weight=10.0,
                **route)), s, t)
    return distiller, s, t


def test_batch_summed_term_warns_by_default(mmengine_log):
    distiller, s, t = _skd(tuned_images_per_gpu=2)
    out = distiller(s, t)
    distiller(s, t)
    text = '\n'.join(mmengine_log)
    assert text.count('tuned for 2 images per GPU') == 1
    assert 'this run has 4' in text and 'x0.5' in text
    plain = 10.0 * SKDPixelWiseLoss()(s['logits'], t['logits'])
    assert out.terms['loss_pi'].item() == pytest.approx(plain.item())
    assert out.factors == {}


def test_batch_summed_term_rescaled_keeps_per_image_strength():
    distiller, s, t = _skd(tuned_images_per_gpu=2, on_batch_change='rescale')
    out = distiller(s, t)
    plain = 10.0 * SKDPixelWiseLoss()(s['logits'], t['logits'])
    assert out.factors == {'loss_pi': 0.5}
    assert out.terms['loss_pi'].item() == pytest.approx(0.5 * plain.item())
    # at the tuned batch nothing changes
    two = {k: v[:2] for k, v in s.items()}
    assert distiller(two, {k: v[:2] for k, v in t.items()}).factors == {}


def test_batch_guard_errors():
    with pytest.raises(ValueError, match='summed over the batch'):
        Distiller(
            dict(
                loss_kd=dict(
                    type='KDLoss',
                    student='logits',
                    teacher='logits',
                    tuned_images_per_gpu=2)), tensors(), tensors())
    with pytest.raises(ValueError, match='on_batch_change'):
        _skd(tuned_images_per_gpu=2, on_batch_change='ignore')


def test_adversarial_loss_needs_its_critic():
    s, t = tensors(), tensors(seed=1)
    distiller = Distiller(
        dict(
            loss_adv=dict(
                type='SKDAdversarialLoss',
                student='logits',
                teacher='logits',
                discriminator=dict(type='SAGANDiscriminator',
                                   base_channels=4))), s, t)
    with pytest.raises(ValueError, match='critic'):
        distiller(s, t)
    critic = distiller.losses['loss_adv'].build_critic(5)
    out = distiller(s, t, critics=dict(loss_adv=critic))
    maps = out.adversarial['loss_adv']
    assert maps.student.shape == (2, 5, 6, 6) and maps.image is None
    assert not maps.student.requires_grad


def test_a_stopped_adversarial_term_still_feeds_its_critic():
    """Its student term is 0, but its critic gets this step's maps: the
    critics share one DDP wrapper, where an idle critic would be an unused
    parameter while another adversarial term is on."""
    s, t = tensors(), tensors(seed=1)
    disc = dict(type='SAGANDiscriminator', base_channels=4)
    distiller = Distiller(
        dict(
            loss_adv=dict(
                type='SKDAdversarialLoss',
                student='logits',
                teacher='logits',
                discriminator=disc,
                weight_schedule=[dict(type='Stop', at=0)]),
            loss_adv2=dict(
                type='SKDAdversarialLoss',
                student='logits',
                teacher='logits',
                discriminator=disc)), s, t)
    critics = {k: loss.build_critic(5) for k, loss in distiller.losses.items()}
    out = distiller(s, t, critics=critics)
    assert out.terms['loss_adv'].item() == 0
    assert set(out.adversarial) == {'loss_adv', 'loss_adv2'}


def test_a_loss_that_is_not_a_distillation_loss_is_refused():
    s, t = tensors(), tensors(seed=1)
    with pytest.raises(
            TypeError, match='subclass mmseg_kd.losses.DistillLoss'):
        Distiller(
            dict(
                loss_ce=dict(
                    type='CrossEntropyLoss',
                    student='logits',
                    teacher='logits')), s, t)
