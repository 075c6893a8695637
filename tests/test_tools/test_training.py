# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Training through mmengine's Runner and the tools, on real CamVid."""
import copy
import os
import os.path as osp
import re
import subprocess
import sys

import mmseg
import pytest
import torch
from mmengine.runner import Runner

from ..conftest import REPO, camvid_like_root
from .helpers import (FEATURE_CWD, SHIPPED_CWD, assert_same_on_ranks,
                      dist_train_two_ranks, run, tiny_camvid_cfg)


def stock_mmseg_test(config: str, checkpoint: str, work_dir: str) -> float:
    """Evaluate with mmsegmentation's own tools/test.py (shipped inside the
    package), which knows nothing of mmseg_kd beyond the config."""
    script = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')
    out = run(
        [sys.executable, script, config, checkpoint, '--work-dir', work_dir])
    return float(re.findall(r'mIoU: ([0-9.]+)', out)[-1])


def test_runner_trains_logs_validates_and_exports(tmp_path):
    cfg = tiny_camvid_cfg(str(tmp_path), iters=4, distill=FEATURE_CWD)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    for key in ('train/loss_cwd', 'train/loss_cwd_feat', 'train/loss_kd',
                'train/decode.loss_ce', 'train/aux.loss_ce', 'val/mIoU'):
        assert key in scalars, key
    # student-only export: plain mmseg keys, safe to load anywhere
    exported = tmp_path / 'student_final.pth'
    ckpt = torch.load(exported, map_location='cpu', weights_only=True)
    student_keys = set(runner.model.student.state_dict())
    assert set(ckpt['state_dict']) == student_keys
    assert ckpt['meta']['dataset_meta']['classes'][0] == 'Sky'
    assert (tmp_path / 'student_config.py').exists()
    # the stock mmseg test tool accepts the export with the student config,
    # and scores it exactly as the distillation model's own evaluation
    ours = runner.test()['mIoU']
    stock = stock_mmseg_test(
        str(tmp_path / 'student_config.py'), str(exported),
        str(tmp_path / 'stock'))
    assert stock == pytest.approx(ours, abs=0.01)


def test_export_tool_round_trip(tmp_path):
    cfg = tiny_camvid_cfg(str(tmp_path), iters=2)
    Runner.from_cfg(cfg).train()
    out = tmp_path / 'exported' / 'student.pth'
    cfg_path = tmp_path / 'distill_cfg.py'
    cfg.dump(str(cfg_path))
    run([
        sys.executable, 'tools/export_student.py',
        str(tmp_path / 'iter_2.pth'),
        str(out), '--config',
        str(cfg_path)
    ])
    auto = torch.load(tmp_path / 'student_final.pth', weights_only=True)
    tool = torch.load(out, weights_only=True)
    assert auto['state_dict'].keys() == tool['state_dict'].keys()
    assert all(
        torch.equal(auto['state_dict'][k], tool['state_dict'][k])
        for k in auto['state_dict'])
    miou = stock_mmseg_test(
        str(tmp_path / 'exported' / 'student_config.py'), str(out),
        str(tmp_path / 'stock'))
    assert 0 <= miou <= 100
    # our tools/test.py refuses a checkpoint that does not fit the config
    # (mmengine would load it non-strictly and score random weights)
    for config, ckpt, hint in ((cfg_path, out, 'student config'),
                               (tmp_path / 'exported' / 'student_config.py',
                                tmp_path / 'iter_2.pth',
                                'export the student')):
        proc = subprocess.run(
            [sys.executable, 'tools/test.py',
             str(config),
             str(ckpt)],
            cwd=REPO,
            capture_output=True,
            text=True,
            env=dict(os.environ, CAMVID_ROOT=camvid_like_root()))
        assert proc.returncode != 0 and hint in proc.stderr, proc.stderr[-800:]


def test_interrupted_training_resumes_exactly(tmp_path):
    """A run interrupted after iteration 3 (last checkpoint at 2) and
    resumed ends with the same weights, connector and optimizer state as a
    run that was never interrupted."""

    def cfg_for(work_dir):
        cfg = tiny_camvid_cfg(
            str(work_dir), iters=4, distill=FEATURE_CWD, dropout=0.0)
        cfg.model.distill.losses.loss_cwd.weight_schedule = [
            dict(type='LinearWarmup', end=4)
        ]
        return cfg

    reference = Runner.from_cfg(cfg_for(tmp_path / 'ref'))
    reference.train()

    cfg = cfg_for(tmp_path / 'cut')
    cfg.custom_hooks = list(
        cfg.custom_hooks) + [dict(type='InterruptHook', at=3)]
    with pytest.raises(KeyboardInterrupt):
        Runner.from_cfg(copy.deepcopy(cfg)).train()
    assert (tmp_path / 'cut' / 'iter_2.pth').exists()
    assert not (tmp_path / 'cut' / 'iter_4.pth').exists()

    cfg.custom_hooks = cfg.custom_hooks[:-1]
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 4
    ref_state = reference.model.state_dict()
    res_state = resumed.model.state_dict()
    assert ref_state.keys() == res_state.keys()
    for k in ref_state:
        assert torch.allclose(
            ref_state[k].float(), res_state[k].float(), atol=1e-5), k
    ref_opt = reference.optim_wrapper.state_dict()['state']
    res_opt = resumed.optim_wrapper.state_dict()['state']
    for k in ref_opt:
        assert torch.allclose(
            ref_opt[k]['momentum_buffer'],
            res_opt[k]['momentum_buffer'],
            atol=1e-5)


def test_dist_train_two_cpu_processes(tmp_path):
    cfg = tiny_camvid_cfg(str(tmp_path), iters=3, distill=FEATURE_CWD)
    out, rank0, rank1 = dist_train_two_ranks(cfg, tmp_path, port=29531)
    assert 'loss_cwd_feat' in out
    assert (tmp_path / 'student_final.pth').exists()
    assert_same_on_ranks(rank0, rank1)


def test_shipped_camvid_cwd_config_trains_via_tools(tmp_path):
    """The shipped config, its real PSPNet-R101/R18 and CamVid, through
    tools/train.py (randomly initialised: no weights can be downloaded)."""
    out = run([
        sys.executable, 'tools/train.py', SHIPPED_CWD, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.teacher.checkpoint=None',
        'model.student.overrides.pretrained=None',
        'model.distill.probe_size=(64,64)', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'val_dataloader.dataset.indices=1', 'default_hooks.logger.interval=1'
    ])
    assert re.search(r'Iter\(train\) \[2/2\].*loss_cwd', out)
    assert 'mIoU' in out
    assert (tmp_path / 'student_final.pth').exists()


def test_nonfinite_skip_is_decided_by_all_ranks(tmp_path):
    """A term that is NaN on one rank only: every rank skips that update
    (a lone skip would leave the other rank waiting in DDP forever)."""
    cfg = tiny_camvid_cfg(
        str(tmp_path),
        iters=3,
        distill=dict(
            losses=dict(
                loss_nan=dict(
                    type='NaNOnRankOneLoss',
                    student='logits',
                    teacher='logits')),
            nonfinite='skip'))
    out, rank0, rank1 = dist_train_two_ranks(
        cfg, tmp_path, port=29535, timeout=300)
    assert 'another rank at iteration 1' in out
    assert_same_on_ranks(rank0, rank1)


def test_same_seed_same_distillation(tmp_path):
    """Two runs of a distillation with one seed (dropout on) end bit for bit
    alike: nothing on the distillation path draws from the global random
    state differently from one run to the next (the demo's promise)."""
    states = []
    for name in ('a', 'b'):
        runner = Runner.from_cfg(
            tiny_camvid_cfg(
                str(tmp_path / name), iters=3, distill=FEATURE_CWD))
        runner.train()
        states.append({
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        })
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
