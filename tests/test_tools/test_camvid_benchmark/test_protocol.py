# Copyright (c) mmseg_kd contributors. All rights reserved.
"""camvid_benchmark.protocol: every row is a config file of the protocol,
with its student and teacher, and builds and trains."""
import os
import os.path as osp

import pytest
import torch
from camvid_benchmark.protocol import (BASELINE_CONFIG, CONFIGS,
                                       FIXED_BASELINES, METHODS,
                                       SET_IN_TRAINING, STUDENT_OF,
                                       TEACHER_CHECKPOINT, TEACHER_CONFIG,
                                       config_weights, load_config,
                                       published_row, published_weights)
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from mmseg_kd.apis.probe import random_batch
from ...conftest import REPO


def test_every_row_is_the_protocols_student_and_teacher():
    baseline = Config.fromfile(osp.join(REPO, BASELINE_CONFIG))
    teacher = Config.fromfile(osp.join(REPO, TEACHER_CONFIG))
    assert baseline.model.backbone.base_channels == 8
    assert teacher.model.backbone.base_channels == 32
    for method, name in METHODS.items():
        cfg = Config.fromfile(osp.join(REPO, CONFIGS, name))
        student = Config.fromfile(
            osp.join(
                REPO,
                FIXED_BASELINES.get(STUDENT_OF.get(method), BASELINE_CONFIG)))
        assert cfg.train_cfg.max_iters == baseline.train_cfg.max_iters
        assert cfg.optim_wrapper.get(
            'optimizer',
            cfg.optim_wrapper.get('student', {}).get(
                'optimizer')) == student.optim_wrapper['optimizer'], method
        assert cfg.model.teacher.checkpoint == TEACHER_CHECKPOINT
        assert cfg.model.teacher.config.endswith(osp.basename(TEACHER_CONFIG))
        assert cfg.model.student.config.endswith(
            osp.basename(student.filename))


@pytest.mark.parametrize(
    'method', ['kd', 'skd_pixel_pair_holistic', 'prerelu_pixel_pair', 'cirkd'])
def test_rows_build_and_train(method, fresh_message_hub):
    cfg = Config.fromfile(osp.join(REPO, CONFIGS, METHODS[method]))
    cfg.model.teacher.checkpoint = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    from mmseg_kd.engine.optimizers import DistillationOptimWrapperConstructor
    ow = cfg.optim_wrapper.to_dict()
    ow.pop('constructor')
    log = model.train_step(
        random_batch((64, 64), 2, 11),
        DistillationOptimWrapperConstructor(ow)(model))
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log.values())
    for name in cfg.model.distill.losses:  # each term (or its parts)
        assert any(k == name or k.startswith(f'{name}_') for k in log), name
    # the protocol keeps the gradient diagnostics (iteration 0 of 500)
    assert cfg.model.distill.monitor.grad_cosine_interval == 500
    assert any(k.startswith('kd_cosine/') for k in log)
    assert any(k.startswith('kd_grad_ratio/') for k in log)


def test_configs_are_parsed_again_when_they_change(tmp_path, monkeypatch,
                                                   mmengine_log):
    """Parsed once while the files stay as they are, each caller given its
    own copy; a changed file (size or time) or environment is read again,
    so a runner never plans from configs that a checkout replaced. The
    environment variables it fills are not announced (mmengine's INFO line
    for each config would bury the plan)."""
    path = tmp_path / 'protocol.py'
    path.write_text("x = 1\ny = '{{$MMSEG_KD_TEST_VALUE:a}}'\n")
    first = load_config(str(path))
    first.x = 5
    assert load_config(str(path)).x == 1  # the cached one is unchanged
    path.write_text("x = 22\ny = '{{$MMSEG_KD_TEST_VALUE:a}}'\n")
    assert load_config(str(path)).x == 22
    stat = os.stat(path)
    path.write_text("x = 33\ny = '{{$MMSEG_KD_TEST_VALUE:a}}'\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_config(str(path)).x == 33  # the same size, a later time
    assert load_config(str(path)).y == 'a'
    monkeypatch.setenv('MMSEG_KD_TEST_VALUE', 'b')
    logger = MMLogger.get_current_instance()
    level = logger.level
    assert load_config(str(path)).y == 'b'
    assert not [m for m in mmengine_log if 'Using env variable' in m]
    assert logger.level == level


def test_the_calibrated_dist_config_sets_its_weights_from_iteration_1000(
        fresh_message_hub):
    """DIST's row with Calibrated weights: its terms are off before
    iteration 1000 and calibrate (on the gradient) from there; its weights
    are not numbers, so the row's published weights are dist.py's, and
    asking the calibrated config for them names that."""
    assert SET_IN_TRAINING['dist_calibrated'] == 'dist'
    path = osp.join(CONFIGS, METHODS['dist_calibrated'])
    assert config_weights(path) == {
        k: dict(type='Calibrated', ratio=1.5, on='grad', steps=10)
        for k in ('loss_dist', 'loss_dist_aux')
    }
    with pytest.raises(ValueError, match='set in training.*published_row'):
        published_weights(path)
    assert published_row('dist_calibrated') == 'dist'
    assert published_weights(osp.join(CONFIGS, METHODS['dist'])) == dict(
        loss_dist=1.0, loss_dist_aux=0.4)
    cfg = load_config(path)
    cfg.model.teacher.checkpoint = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(model.student.parameters(), lr=0))
    distiller = model.distiller
    for it, seen in ((0, 0), (999, 0), (1000, 1), (1001, 2)):
        fresh_message_hub.update_info('iter', it)
        log = model.train_step(random_batch((64, 64), 2, 11), wrapper)
        assert distiller.calibration_steps.tolist() == [seen, seen], it
        if it < 1000:  # off: not computed, logged as 0
            assert float(log['loss_dist']) == 0.0
    assert all(w > 0 for w in distiller.calibrated_weights.tolist())
    assert float(log['loss_dist']) > 0.0


def test_the_calibrated_kd_ls_config_sets_its_weight_from_iteration_1000(
        fresh_message_hub):
    """KD with logit standardisation's row with a Calibrated weight: its one
    term calibrates to KD's tuned gradient strength (3x the task's) from
    iteration 1000, keeps the row's temperature and standardisation, and is
    compared with the grid-tuned kd_logit_standardization row."""
    method = 'kd_logit_standardization_calibrated'
    assert SET_IN_TRAINING[method] == 'kd_logit_standardization'
    path = osp.join(CONFIGS, METHODS[method])
    assert config_weights(path) == {
        'loss_kd': dict(type='Calibrated', ratio=3.0, on='grad', steps=10)
    }
    term = load_config(path).model.distill.losses.loss_kd
    assert term.tau == 2.0 and term.logit_standardization
    assert term.weight_schedule == [dict(type='Start', at=1000)]
    with pytest.raises(ValueError, match='set in training.*published_row'):
        published_weights(path)


@pytest.mark.parametrize('method', sorted(SET_IN_TRAINING))
def test_rows_set_in_training_follow_one_rule(method):
    """Every row set in training is its grid row's config with each term's
    weight calibrated on the gradient from iteration 1000 to an equal
    share of KD's tuned gradient strength (g = 3), and nothing else
    changed."""
    row = SET_IN_TRAINING[method]
    assert row in METHODS and row not in SET_IN_TRAINING
    calibrated = load_config(osp.join(CONFIGS, METHODS[method]))
    grid = load_config(osp.join(CONFIGS, METHODS[row]))
    terms = calibrated.model.distill.losses
    assert set(terms) == set(grid.model.distill.losses)
    for name, term in terms.items():
        assert term.loss_weight == dict(
            type='Calibrated', ratio=3.0 / len(terms), on='grad', steps=10)
        assert term.weight_schedule == [dict(type='Start', at=1000)]
        rest = {
            k: v
            for k, v in term.items()
            if k not in ('loss_weight', 'weight_schedule')
        }
        published = grid.model.distill.losses[name]
        assert rest == {
            k: v
            for k, v in published.items()
            if k not in ('loss_weight', 'weight_schedule')
        }, name
    assert published_row(method) == row

    def without_losses(cfg):  # nor the configs' own helper variables
        out = {k: v for k, v in cfg.to_dict().items() if k[0] != '_'}
        del out['model']['distill']['losses']
        return out

    assert without_losses(calibrated) == without_losses(grid)
