# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Every shipped CamVid distillation config trains on real CamVid images.

Real architectures, randomly initialised (no weights can be downloaded),
small crops and two iterations: enough to prove that the config builds,
every recorded module runs, and every loss trains and is logged.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from ..conftest import REPO
from ..test_tools.helpers import shrink_data

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'distillation_configs', '*', '*camvid*.py'))
    if osp.basename(osp.dirname(p)) not in ('_base_', 'baselines'))


def quick(cfg: Config, work_dir: str) -> Config:
    shrink_data(cfg, crop=(96, 96), val_images=1, batch_size=2)
    model = cfg.model
    model.teacher.checkpoint = None
    for side in (model.teacher, model.student):
        side.setdefault('overrides', {})
        side.overrides.update(
            pretrained=None, data_preprocessor=dict(size=(96, 96)))
    model.distill.probe_size = (96, 96)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_camvid_config_trains(path, tmp_path):
    cfg = quick(Config.fromfile(path), str(tmp_path))
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    for name in cfg.model.distill.losses:  # one term, or <name>_<part>
        assert any(k == f'train/{name}' or k.startswith(f'train/{name}_')
                   for k in scalars), name
    assert 'val/mIoU' in scalars
    assert osp.exists(osp.join(str(tmp_path), 'student_final.pth'))
