# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Training you can see into: ratios, agreement, gradient cosines, factors
and calibrated weights, logged as scalars."""
import copy

import pytest
import torch
from mmseg.registry import MODELS

from mmseg_kd.segmentors.monitor import gradient_alignment, pixel_agreement
from ..conftest import distill_model, fake_batch
from ..test_tools.helpers import (FEATURE_CWD, tiny_camvid_cfg,
                                  train_interrupted_and_resumed)


def test_pixel_agreement_by_hand():
    s = torch.zeros(1, 3, 2, 2)
    t = torch.zeros(1, 3, 2, 2)
    s[0, 0] = 1  # student: class 0 everywhere
    t[0, 0, 0] = 1  # teacher: class 0 on the top row,
    t[0, 2, 1] = 1  # class 2 on the bottom row
    assert pixel_agreement(s, t) == 50.0
    labels = torch.tensor([[[1, 255], [255, 255]]])
    assert pixel_agreement(s, t, labels) == 100.0  # one valid pixel


def test_gradient_alignment_by_hand():
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    task = (w * torch.tensor([1.0, 0.0])).sum()  # gradient (1, 0)
    terms = dict(
        same=(w * torch.tensor([2.0, 0.0])).sum(),  # gradient (2, 0)
        against=-(w * torch.tensor([1.0, 1.0])).sum(),  # (-1, -1)
        frozen=torch.tensor(1.0))
    out = gradient_alignment(task, terms, [w])
    assert out['same'] == pytest.approx((1.0, 2.0))
    assert out['against'] == pytest.approx((-2**-0.5, 2**0.5))
    assert 'frozen' not in out


def test_train_step_logs_the_diagnostics(fresh_message_hub):
    losses = dict(
        loss_kd=dict(type='KDLoss', student='logits', teacher='logits'),
        loss_cal=dict(
            type='ChannelWiseDivergence',
            student='logits',
            teacher='logits',
            loss_weight=dict(type='Calibrated', ratio=0.5)),
        loss_warm=dict(
            type='KDLoss',
            student='logits',
            teacher='logits',
            weight_schedule=[dict(type='LinearWarmup', end=4)]))
    model = MODELS.build(
        distill_model(losses=losses, monitor=dict(grad_cosine_interval=2)))
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                        lr=0.01))
    logs = []
    for it in range(3):
        fresh_message_hub.update_info('iter', it)
        logs.append(model.train_step(fake_batch(seed=it), optim))
    first = logs[0]
    task = float(first['loss']) - sum(float(first[k]) for k in losses)
    for key in losses:
        assert first[f'kd_ratio/{key}'] == pytest.approx(
            float(first[key]) / task, rel=1e-4)
        assert 0 <= first[f'kd_agreement/{key}'] <= 100
    for key in ('loss_kd', 'loss_cal'):  # iteration 0 of every 2
        assert -1 <= first[f'kd_cosine/{key}'] <= 1
        assert first[f'kd_grad_ratio/{key}'] > 0
    assert 'kd_cosine/loss_warm' not in first  # factor 0: no gradient
    assert 'kd_grad_ratio/loss_warm' not in first
    assert 'kd_cosine/loss_kd' not in logs[1]
    assert 'kd_cosine/loss_kd' in logs[2]
    assert first['kd_ratio/loss_cal'] == pytest.approx(0.5, rel=1e-4)
    assert first['kd_weight/loss_cal'] == logs[2]['kd_weight/loss_cal']
    assert first['kd_factor/loss_warm'] == 0.0
    assert logs[2]['kd_factor/loss_warm'] == 0.5


@pytest.mark.parametrize('term,start', [('loss_cwd', None),
                                        ('loss_cwd_feat', 2)])
def test_calibrated_weights_resume_and_reach_tensorboard(
        tmp_path, term, start):
    """A Calibrated weight is set on the first step where its term counts,
    kept in the checkpoint (a resumed run does not calibrate again) and
    logged where TensorBoard and tools/plot_loss_terms.py read it. With
    ``Start(at=2)`` on a connected term (computed times 0 before), it is
    set at iteration 2, the resumed run's first step, exactly as in the
    uninterrupted run."""
    distill = copy.deepcopy(FEATURE_CWD)
    distill['losses'][term]['loss_weight'] = dict(type='Calibrated', ratio=0.3)
    if start is not None:
        distill['losses'][term]['weight_schedule'] = [
            dict(type='Start', at=start)
        ]

    def cfg_for(work_dir):
        cfg = tiny_camvid_cfg(str(work_dir), iters=4, distill=distill)
        cfg.default_hooks.checkpoint.interval = 2
        return cfg

    ref, resumed = train_interrupted_and_resumed(cfg_for, tmp_path)
    weight = float(ref.model.distiller.calibrated_weights[0])
    assert weight > 0
    assert float(resumed.model.distiller.calibrated_weights[0]) == weight
    assert int(resumed.model.distiller.calibration_steps[0]) == 1
    for key, value in ref.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    scalars = ref.message_hub.log_scalars
    assert f'train/kd_weight/{term}' in scalars
    assert f'train/kd_ratio/{term}' in scalars
    if term == 'loss_cwd':  # a logit term
        assert 'train/kd_agreement/loss_cwd' in scalars
    from mmseg_kd import visualization as vis
    records = vis.read_log(vis.find_logs(str(tmp_path / 'ref'))[-1])
    diag = vis.diagnostic_series(records)
    assert f'kd_weight/{term}' in diag and f'kd_ratio/{term}' in diag
    # logged (1-based) from the step that set it: iteration `start`
    its, weights = diag[f'kd_weight/{term}']
    assert list(its) == list(range((start or 0) + 1, 5))
    assert weights[0] == pytest.approx(weight, rel=1e-4)
    assert not any(k.startswith('kd_') for k in vis.loss_series(records))


def test_gradient_diagnostics_of_adversarial_and_memory_terms(
        fresh_message_hub):
    """The cosines and gradient ratios cover every term with a gradient on
    the student, the adversarial and multi-term losses included, and the
    discriminator step still follows."""
    from ..conftest import build_mmseg
    from ..test_tools.helpers import student_and_critic_wrappers
    from ..test_tools.test_stateful_training import STATEFUL
    model = build_mmseg(
        distill_model(**STATEFUL, monitor=dict(grad_cosine_interval=1)))
    wrappers = student_and_critic_wrappers(model)
    d_before = [p.clone() for p in model.discriminator.parameters()]
    fresh_message_hub.update_info('iter', 0)
    log = model.train_step(fake_batch(), wrappers)
    for term in ('loss_kd', 'loss_adv', 'loss_mb', 'loss_mem_pixel',
                 'loss_mem_region'):
        assert -1 <= log[f'kd_cosine/{term}'] <= 1, term
        assert log[f'kd_grad_ratio/{term}'] > 0, term
    assert any(not torch.equal(a, b)
               for a, b in zip(d_before, model.discriminator.parameters()))


def test_evaluating_the_loss_never_sets_a_calibrated_weight(fresh_message_hub):
    """loss() under no_grad (evaluation) reads Calibrated weights and never
    sets them: an evaluation batch must not become part of the weight, nor
    run the calibration's collective on some ranks only."""
    losses = dict(
        loss_cal=dict(
            type='KDLoss',
            student='logits',
            teacher='logits',
            loss_weight=dict(type='Calibrated', ratio=0.5)))
    model = MODELS.build(distill_model(losses=losses))
    batch = model.data_preprocessor(fake_batch(), True)
    with torch.no_grad():
        terms = model.loss(batch['inputs'], batch['data_samples'])
    assert float(terms['loss_cal']) == 0.0  # not set yet: counts 0
    assert int(model.distiller.calibration_steps[0]) == 0
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                        lr=0.0))
    fresh_message_hub.update_info('iter', 0)
    log = model.train_step(fake_batch(), optim)
    assert int(model.distiller.calibration_steps[0]) == 1
    assert log['kd_ratio/loss_cal'] == pytest.approx(0.5, rel=1e-4)
    weight = float(model.distiller.calibrated_weights[0])
    with torch.no_grad():
        again = model.loss(batch['inputs'], batch['data_samples'])
    assert float(model.distiller.calibrated_weights[0]) == weight
    assert float(again['loss_cal']) > 0
