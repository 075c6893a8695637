# Copyright (c) mmseg_kd contributors. All rights reserved.
import math

import pytest

from mmseg_kd.distill import WeightSchedule


def test_cgd_ws_schedule_values():
    # CGD+WS: 0 -> 1 over 2000 iterations, decay to 0 between 110k and 120k
    sched = WeightSchedule([
        dict(type='LinearWarmup', end=2000),
        dict(type='LinearDecay', begin=110000, end=120000)
    ])
    assert sched(0) == 0.0
    assert sched(500) == pytest.approx(0.25)
    assert sched(2000) == 1.0
    assert sched(60000) == 1.0
    assert sched(115000) == pytest.approx(0.5)
    assert sched(120000) == 0.0 and sched(159999) == 0.0


def test_exp_warmup_and_stop():
    sched = WeightSchedule(
        [dict(type='ExpWarmup', end=100),
         dict(type='Stop', at=300)])
    assert sched(0) == pytest.approx(math.exp(-5))
    assert sched(50) == pytest.approx(math.exp(-5 * 0.25))
    assert sched(100) == 1.0 and sched(299) == 1.0 and sched(300) == 0.0


def test_linear_warmup_start_factor_and_begin():
    sched = WeightSchedule(
        dict(type='LinearWarmup', begin=10, end=20, start_factor=0.5))
    assert sched(0) == 0.5 and sched(15) == pytest.approx(0.75)


def test_bad_phases():
    with pytest.raises(KeyError, match='available'):
        WeightSchedule([dict(type='Cosine')])
    with pytest.raises(ValueError, match='begin < end'):
        WeightSchedule([dict(type='LinearDecay', begin=5, end=5)])
    with pytest.raises(TypeError, match='LinearWarmup'):
        WeightSchedule([dict(type='LinearWarmup', stop=5)])


def test_shipped_cgd_ws_follows_the_references_one_based_steps():
    """SegDistill counts steps from 1: alpha = 3 s / 2000 in the ramp (the
    first step is not 0) and 3 (120000 - s) / 10000 in the decay, at runner
    iteration s - 1."""
    import os.path as osp

    from mmengine.config import Config

    from ..conftest import REPO
    cfg = Config.fromfile(
        osp.join(
            REPO, 'distillation_configs', 'cgd',
            'cgd-ws_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512'
            '.py'))
    sched = WeightSchedule(cfg.model.distill.losses.loss_cgd.weight_schedule)
    for step in (1, 2, 1000, 2000, 2001, 60000, 110000, 115000, 119999, 120000,
                 160000):
        reference = min(step / 2000, 1.0) * min(
            1.0, max(0.0, (120000 - step) / 10000))
        assert sched(step - 1) == pytest.approx(reference, abs=1e-12), step


def test_start():
    sched = WeightSchedule(dict(type='Start', at=100))
    assert sched(0) == 0.0 and sched(99) == 0.0
    assert sched(100) == 1.0 and sched(10**6) == 1.0
    with pytest.raises(ValueError, match='Start'):
        WeightSchedule(dict(type='Start', at=-1))
