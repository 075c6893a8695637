# Copyright (c) mmseg_kd contributors. All rights reserved.
"""ResumableCheckpointHook: a kill while a checkpoint is written leaves the
previous one intact; old checkpoints go only after the new one is complete;
checkpoints carry the random state."""
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_kd.engine.hooks import batch_in_name
from mmseg_kd.utils import load_checkpoint_file
from ..test_tools.helpers import tiny_camvid_cfg, train_interrupted_and_resumed


@HOOKS.register_module(force=True)
class _DieWhileSaving(Hook):
    """Raises inside the checkpoint write of iteration ``at`` (1-based),
    as a kill at that moment would."""

    def __init__(self, at: int):
        self.at = at

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['iter'] == self.at:
            raise KeyboardInterrupt('killed while saving')


def cfg_with_keep_one(work_dir, iters):
    cfg = tiny_camvid_cfg(str(work_dir), iters=iters)
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1)
    assert cfg.default_hooks.checkpoint.type == 'ResumableCheckpointHook'
    return cfg


def test_a_kill_while_saving_keeps_the_last_checkpoint(tmp_path):
    cfg = cfg_with_keep_one(tmp_path, iters=3)
    cfg.custom_hooks = list(
        cfg.custom_hooks) + [dict(type='_DieWhileSaving', at=3)]
    with pytest.raises(KeyboardInterrupt):
        Runner.from_cfg(cfg).train()
    # mmengine's hook deletes iter_2.pth before writing iter_3.pth
    assert osp.exists(tmp_path / 'iter_2.pth')
    assert not osp.exists(tmp_path / 'iter_3.pth')
    assert not osp.exists(tmp_path / 'iter_1.pth')
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().endswith('iter_2.pth')
    ckpt = load_checkpoint_file(str(tmp_path / 'iter_2.pth'), 'resume')
    assert ckpt['meta']['iter'] == 2


def test_old_checkpoints_pruned_and_random_state_saved(tmp_path):
    runner = Runner.from_cfg(cfg_with_keep_one(tmp_path, iters=3))
    runner.train()
    assert sorted(p.name for p in tmp_path.glob('iter_*')) == ['iter_3.pth']
    ckpt = load_checkpoint_file(str(tmp_path / 'iter_3.pth'), 'resume')
    states = ckpt['meta']['random_states']
    assert len(states) == 1 and set(states[0]) >= {'torch', 'numpy', 'python'}
    assert isinstance(states[0]['torch'], torch.Tensor)


def test_resume_restores_the_random_state(tmp_path):
    """With dropout in the heads, a run interrupted after iteration 2 and
    resumed equals the uninterrupted run exactly (mmengine alone drifts:
    it does not checkpoint torch's generator)."""

    def cfg_for(work_dir):
        cfg = tiny_camvid_cfg(str(work_dir), iters=4, dropout=0.5)
        cfg.default_hooks.checkpoint.interval = 2
        return cfg

    reference, resumed = train_interrupted_and_resumed(cfg_for, tmp_path)
    ref, res = reference.model.state_dict(), resumed.model.state_dict()
    for key in ref:
        assert torch.equal(ref[key], res[key]), key


def test_batch_in_config_names():
    assert batch_in_name('a/cwd_x_4xb2-40k_camvid-360x360.py') == (4, 2)
    assert batch_in_name('cirkd_8xb2-40k_cityscapes-512x1024.py') == (8, 2)
    assert batch_in_name('student_config.py') is None
    assert batch_in_name(None) is None


class _Runner:
    """The little of a runner BatchSizeCheckHook reads."""

    def __init__(self, filename, batch_size):
        from mmengine.config import Config
        from mmengine.logging import MMLogger
        self.cfg = Config(dict(), cfg_text='#', filename=filename)
        self.train_dataloader = type('Loader', (),
                                     dict(batch_size=batch_size))()
        self.logger = MMLogger.get_current_instance()


def test_batch_size_check_warns_with_both_numbers(mmengine_log):
    from mmseg_kd.engine.hooks import BatchSizeCheckHook
    hook = BatchSizeCheckHook()
    hook.before_train(_Runner('/x/kd_pspnet_4xb2-40k_camvid-360x360.py', 8))
    assert len(mmengine_log) == 1
    assert '4x2 (a total batch of 8)' in mmengine_log[0]
    assert '1 process(es) x 8 image(s) = 8' in mmengine_log[0]
    hook.before_train(_Runner('/x/kd_1xb8-40k.py', 8))
    hook.before_train(_Runner('/x/student_config.py', 8))
    assert len(mmengine_log) == 1
