# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Loss weights that set themselves: loss_weight=dict(type='Calibrated',
ratio=r)."""
import pytest
import torch

from mmseg_kd.distill import Distiller, calibration
from mmseg_kd.distill.calibration import (LOW_COSINE, Calibration,
                                          flat_gradient, parse_loss_weight)
from mmseg_kd.losses import KDLoss


def tensors(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(logits=torch.randn(2, 5, 6, 6, generator=gen))


def kd(**calibrated):
    s, t = tensors(), tensors(1)
    return Distiller(
        dict(
            loss_kd=dict(
                type='KDLoss',
                student='logits',
                teacher='logits',
                loss_weight=dict(type='Calibrated', **calibrated))), s,
        t), s, t


def gradient_norm(value, params):
    return float(flat_gradient(value, params).norm())


def test_parse_loss_weight():
    assert parse_loss_weight(3, 'loss_x') == (3.0, None)
    weight, cal = parse_loss_weight(
        dict(type='Calibrated', ratio=0.5), 'loss_x')
    assert weight == 1.0 and cal == Calibration(0.5, 'value', 1)
    with pytest.raises(KeyError, match="type='Calibrated'"):
        parse_loss_weight(dict(type='Auto'), 'loss_x')
    with pytest.raises(ValueError, match='ratio > 0'):
        parse_loss_weight(dict(type='Calibrated', ratio=0), 'loss_x')
    with pytest.raises(ValueError, match='on in'):
        parse_loss_weight(dict(type='Calibrated', ratio=1, on='norm'), 'x')
    with pytest.raises(TypeError, match='takes ratio'):
        parse_loss_weight(dict(type='Calibrated', ratio=1, every=3), 'x')


def test_value_calibration_sets_the_ratio_once():
    distiller, s, t = kd(ratio=0.5)
    assert distiller.losses['loss_kd'].loss_weight == 1.0
    unweighted = float(KDLoss()(s['logits'], t['logits']))
    out = distiller(s, t, task_loss=torch.tensor(2.0))
    assert out.terms['loss_kd'].item() == pytest.approx(0.5 * 2.0)
    weight = 0.5 * 2.0 / unweighted
    assert out.weights == {'loss_kd': pytest.approx(weight)}
    # set once: another task loss does not change it, nor is it needed
    again = distiller(s, t, task_loss=torch.tensor(10.0))
    assert again.weights['loss_kd'] == pytest.approx(weight)
    assert distiller(s, t).terms['loss_kd'].item() == pytest.approx(1.0)
    # kept in the state dict: a resumed run does not calibrate again
    fresh, _, _ = kd(ratio=0.5)
    fresh.load_state_dict(distiller.state_dict())
    assert fresh(s, t).weights['loss_kd'] == pytest.approx(weight)


def test_calibration_averages_its_steps():
    distiller, s, t = kd(ratio=1.0, steps=2)
    unweighted = float(KDLoss()(s['logits'], t['logits']))
    with pytest.raises(ValueError, match='task loss'):
        distiller(s, t)
    first = distiller(s, t, task_loss=torch.tensor(1.0)).weights['loss_kd']
    assert first == pytest.approx(1.0 / unweighted)
    second = distiller(s, t, task_loss=torch.tensor(3.0)).weights['loss_kd']
    assert second == pytest.approx(2.0 / unweighted)  # mean of 1 and 3
    third = distiller(s, t, task_loss=torch.tensor(9.0)).weights['loss_kd']
    assert third == second


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_a_non_finite_task_loss_is_not_an_estimate(bad):
    """A NaN or inf step neither becomes the weight nor uses up a
    calibration step: the next finite step sets it."""
    distiller, s, t = kd(ratio=1.0, steps=1)
    unweighted = float(KDLoss()(s['logits'], t['logits']))
    distiller(s, t, task_loss=torch.tensor(bad))
    assert int(distiller.calibration_steps[0]) == 0
    weight = distiller(s, t, task_loss=torch.tensor(2.0)).weights['loss_kd']
    assert weight == pytest.approx(2.0 / unweighted)


def test_gradient_calibration():
    """on='grad': the weighted term's gradient norm on the student's
    parameters is ratio times the task loss's."""
    w = torch.nn.Parameter(torch.randn(2, 5, 6, 6))
    distiller, s, t = kd(ratio=0.25, on='grad')
    assert distiller.calibrates_gradients
    student = dict(logits=w * 1.5)
    task = (w**2).sum()
    out = distiller(
        student, t, task_loss=task, gradient=lambda v: flat_gradient(v, [w]))
    term_grad = gradient_norm(out.terms['loss_kd'], [w])
    assert term_grad == pytest.approx(
        0.25 * gradient_norm(task, [w]), rel=1e-5)
    assert not distiller.calibrates_gradients
    other, _, _ = kd(ratio=0.25, on='grad')
    with pytest.raises(ValueError, match="on='grad'"):
        other(student, t, task_loss=task)


def test_calibration_waits_for_the_terms_schedule():
    """A term held at 0 by its schedule does not calibrate, even when it is
    computed (times 0) because a connector's parameters need a gradient:
    the weight is set on the first step where the term counts, from that
    step's values (past a start-up spike like DIST's)."""
    gen = torch.Generator().manual_seed(3)
    s = dict(feat=torch.randn(2, 4, 6, 6, generator=gen))
    t = dict(feat=torch.randn(2, 8, 6, 6, generator=gen))
    distiller = Distiller(
        dict(
            loss_cwd=dict(
                type='ChannelWiseDivergence',
                student='feat',
                teacher='feat',
                loss_weight=dict(type='Calibrated', ratio=0.5),
                weight_schedule=[dict(type='Start', at=2)])),
        s,
        t,
        connectors=dict(feat=dict(type='ChannelConnector')))
    for iteration in (0, 1):
        out = distiller(s, t, iteration=iteration, task_loss=torch.tensor(9.))
        assert out.terms['loss_cwd'].item() == 0
        assert out.terms['loss_cwd'].grad_fn is not None  # for DDP
        assert int(distiller.calibration_steps[0]) == 0
    out = distiller(s, t, iteration=2, task_loss=torch.tensor(2.0))
    assert int(distiller.calibration_steps[0]) == 1
    assert out.terms['loss_cwd'].item() == pytest.approx(0.5 * 2.0)


def test_flat_gradient_fills_unreached_parameters_with_zeros():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    grad = flat_gradient((3 * a).sum(), [a, b])
    assert grad.tolist() == [3.0, 3.0, 0.0, 0.0, 0.0]


def test_gradient_cosine_matches_torch_and_is_zero_for_a_zero_gradient():
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(7, generator=gen), torch.randn(7, generator=gen)
    expected = float(torch.nn.functional.cosine_similarity(a, b, dim=0))
    assert calibration.gradient_cosine(a, b) == pytest.approx(expected)
    assert calibration.gradient_cosine(a, -a) == pytest.approx(-1.0)
    assert calibration.gradient_cosine(a, torch.zeros(7)) == 0.0


def calibrate_on_grad(task_of, mmengine_log):
    """Calibrate a KD term (student logits ``w2``) with ``on='grad'``
    against the task loss ``task_of(w1, w2, kd_value)``; the distiller,
    the unweighted KD gradient on w2, and the log."""
    gen = torch.Generator().manual_seed(5)
    w1 = torch.nn.Parameter(torch.randn(7, generator=gen))
    w2 = torch.nn.Parameter(torch.randn(2, 5, 6, 6, generator=gen))
    distiller, _, t = kd(ratio=2.0, on='grad')
    kd_value = KDLoss()(w2, t['logits'])
    task = task_of(w1, w2, kd_value)
    distiller(
        dict(logits=w2),
        t,
        task_loss=task,
        gradient=lambda v: flat_gradient(v, [w1, w2]))
    kd_grad = flat_gradient(kd_value, [w2])
    return distiller, w1, kd_grad, mmengine_log


def test_gradient_calibration_logs_the_weight_and_the_cosine(
        mmengine_log_levels):
    """The cosine is the one of the two flat gradients, checked against
    the formula: task = KD + c |w1|^2 gives cos = |g| / sqrt(|g|^2 +
    |2 c w1|^2), g the KD gradient."""
    c = 1e-2
    distiller, w1, g, log = calibrate_on_grad(
        lambda w1, w2, kd_value: kd_value + c * (w1**2).sum(),
        mmengine_log_levels)
    expected = float(g.norm() / (g.norm()**2 +
                                 (2 * c * w1.detach()).norm()**2).sqrt())
    assert LOW_COSINE < expected < 0.99
    assert float(distiller.calibration_cosines[0]) == pytest.approx(
        expected, rel=1e-5)
    weight = float(distiller.calibrated_weights[0])
    [(level, message)] = [(v, m) for v, m in log if 'Calibrated weight' in m]
    assert level == 'INFO'
    assert f"'loss_kd' set to {weight:.4g}" in message
    assert f'{expected:.3f}' in message and 'Below' not in message
    # a diagnostic, not training state: checkpoints do not change
    assert 'calibration_cosines' not in distiller.state_dict()


@pytest.mark.parametrize('task_of,cosine', [
    (lambda w1, w2, kd_value: (w1**2).sum(), 0.0),
    (lambda w1, w2, kd_value: -kd_value, -1.0),
])
def test_a_term_orthogonal_to_or_against_the_task_is_set_with_a_warning(
        task_of, cosine, mmengine_log_levels):
    """A term whose gradient has no positive part along the task's still
    gets its weight (the ratio holds), and the log warns, naming the term,
    the cosine and what to do."""
    distiller, _, _, log = calibrate_on_grad(task_of, mmengine_log_levels)
    assert float(distiller.calibration_cosines[0]) == pytest.approx(
        cosine, abs=1e-6)
    assert not distiller.calibrates_gradients
    [(level, message)] = [(v, m) for v, m in log if 'Calibrated weight' in m]
    assert level == 'WARNING'
    assert 'Below 0.1' in message and 'kd_cosine/loss_kd' in message
    assert 'fixed loss_weight' in message


def test_value_calibration_logs_no_cosine(mmengine_log):
    distiller, s, t = kd(ratio=0.5, steps=2)
    distiller(s, t, task_loss=torch.tensor(2.0))
    assert not any('Calibrated weight' in m for m in mmengine_log)
    distiller(s, t, task_loss=torch.tensor(4.0))  # the last step announces
    [message] = [m for m in mmengine_log if 'Calibrated weight' in m]
    assert 'over 2 step(s)' in message and 'cosine' not in message


def test_the_cosine_after_a_resume_is_the_mean_of_the_steps_since():
    """The cosine is not in the checkpoint: a run resumed while its weight
    is still being set averages the cosines of the steps after the resume
    (the weight, of all its steps)."""
    gen = torch.Generator().manual_seed(7)
    w = torch.nn.Parameter(torch.randn(2, 5, 6, 6, generator=gen))
    t = tensors(1)

    def step(distiller, task_scale):
        kd_value = KDLoss()(w, t['logits'])
        task = task_scale * kd_value + (w**2).sum()
        distiller(
            dict(logits=w),
            t,
            task_loss=task,
            gradient=lambda v: flat_gradient(v, [w]))
        # this step's cosine, computed apart
        return float(
            torch.nn.functional.cosine_similarity(
                flat_gradient(task, [w]), flat_gradient(kd_value, [w]), dim=0))

    first, _, _ = kd(ratio=1.0, on='grad', steps=3)
    one = step(first, 1.0)
    resumed, _, _ = kd(ratio=1.0, on='grad', steps=3)
    resumed.load_state_dict(first.state_dict())
    assert int(resumed.calibration_steps[0]) == 1
    assert float(first.calibration_cosines[0]) == pytest.approx(one)
    two = step(resumed, -50.0)
    three = step(resumed, 50.0)
    assert int(resumed.calibration_cosine_steps[0]) == 2
    assert float(resumed.calibration_cosines[0]) == pytest.approx(
        (two + three) / 2)
    assert len({round(one, 3), round(two, 3), round(three, 3)}) == 3
    assert int(resumed.calibration_steps[0]) == 3
