# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Configs and hooks for the training tests (tiny models on real CamVid)."""
import copy
import os
import os.path as osp
import signal
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS, MODELS

from mmseg_kd.losses import DistillLoss
from ..conftest import REPO, camvid_like_root, tiny_segmentor

SHIPPED_CWD = osp.join(
    REPO, 'distillation_configs', 'cwd',
    'cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_camvid-360x360.py')
CROP = (96, 96)
#: CWD on logits and (through a connector) features, plus KD with labels
FEATURE_CWD = dict(
    student_tensors=dict(
        logits='decode_head.conv_seg', feat='backbone.layer4'),
    teacher_tensors=dict(
        logits='decode_head.conv_seg', feat='backbone.layer4'),
    connectors=dict(feat=dict(type='ChannelConnector')),
    losses=dict(
        loss_cwd=dict(
            type='ChannelWiseDivergence',
            student='logits',
            teacher='logits',
            tau=4.0,
            loss_weight=3.0),
        loss_cwd_feat=dict(
            type='ChannelWiseDivergence',
            student='feat',
            teacher='feat',
            tau=4.0,
            loss_weight=5.0),
        loss_kd=dict(
            type='KDLoss',
            student='logits',
            teacher='logits',
            ignore_index=255)))


def shrink_data(cfg: Config,
                crop=CROP,
                val_images: int = 3,
                batch_size: int = 2) -> None:
    """Small crops, few val images, no worker processes."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'RandomResize':
            step['scale'] = (160, 120)
        if step['type'] == 'RandomCrop':
            step['crop_size'] = crop
    for loader in ('val_dataloader', 'test_dataloader'):
        dl = cfg[loader]
        dl.dataset.indices = val_images
        for step in dl.dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (160, 120)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
        cfg[loader].dataset.data_root = camvid_like_root()
    cfg.train_dataloader.batch_size = batch_size


def tiny_camvid_cfg(work_dir: str,
                    iters: int = 4,
                    distill: dict = None,
                    dropout: float = 0.1) -> Config:
    """The shipped CamVid CWD config with tiny models and small crops."""
    cfg = Config.fromfile(SHIPPED_CWD)
    shrink_data(cfg)
    teacher = tiny_segmentor(width=16, size=CROP)
    student = tiny_segmentor(width=8, size=CROP)
    for model in (teacher, student):
        model['decode_head']['dropout_ratio'] = dropout
        model['auxiliary_head']['dropout_ratio'] = dropout
    cfg.model.teacher = dict(model=teacher)
    cfg.model.student = dict(model=student)
    cfg.model.distill.probe_size = CROP
    if distill:
        cfg.model.distill.update(copy.deepcopy(distill))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.randomness = dict(seed=0, deterministic=False)
    cfg.env_cfg.cudnn_benchmark = False
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return cfg


def run(cmd, cwd=REPO, timeout=600, env=None, check=True):
    """Run a command (stdout and stderr together). With ``check``, assert it
    succeeded (showing its output) and return the output; without, return
    (exit code, output)."""
    full_env = dict(
        os.environ,
        CAMVID_ROOT=camvid_like_root(),
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1')
    full_env.update(env or {})
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    if not check:
        return proc.returncode, proc.stdout
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


@HOOKS.register_module(force=True)
class DumpStateHook(Hook):
    """Saves the model state on every rank at the end of training
    (rank{r}_state.pth in the work dir), to compare ranks after DDP."""

    priority = 'LOWEST'

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model,
                                               'module') else runner.model
        # children may be DDP-wrapped (MMSeparateDistributedDataParallel)
        state = {
            k.replace('.module.', '.'): v.detach().cpu().clone()
            for k, v in model.state_dict().items()
        }
        torch.save(state,
                   osp.join(runner.work_dir, f'rank{get_rank()}_state.pth'))


@HOOKS.register_module(force=True)
class KillRankHook(Hook):
    """SIGKILLs rank ``rank`` after iteration ``after`` (1-based), after
    every other hook of that iteration (the checkpoint included): a node
    lost without warning."""

    priority = 'LOWEST'

    def __init__(self, rank: int, after: int):
        self.rank = rank
        self.after = after

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if get_rank() == self.rank and runner.iter + 1 == self.after:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module(force=True)
class InterruptHook(Hook):
    """Raises after iteration ``at`` (1-based), like a killed job."""

    def __init__(self, at: int):
        self.at = at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt(f'interrupted after iteration {self.at}')


@MODELS.register_module(force=True)
class NaNOnRankOneLoss(DistillLoss):
    """Test helper: KD everywhere, NaN on rank 1 at iteration 1 only."""

    uses_iteration = True

    def compute(self, student, teacher, labels, iteration=0):
        value = (student - teacher).pow(2).mean()
        if get_rank() == 1 and iteration == 1:
            value = value * float('nan')
        return value


def dump_for_ddp(cfg: Config, work_dir) -> str:
    """Write ``cfg`` for a 2-process run (batch 1 per process, every rank
    dumping its final state) and return its path."""
    cfg.custom_imports = dict(
        imports=['mmseg_kd', 'tests.test_tools.helpers'],
        allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='DumpStateHook')]
    cfg.train_dataloader.batch_size = 1
    os.makedirs(str(work_dir), exist_ok=True)
    path = osp.join(str(work_dir), 'cfg.py')
    cfg.dump(path)
    return path


def rank_states(work_dir):
    """The final states DumpStateHook wrote for ranks 0 and 1."""
    return [
        torch.load(
            osp.join(str(work_dir), f'rank{r}_state.pth'), weights_only=True)
        for r in (0, 1)
    ]


def dist_train_two_ranks(cfg: Config, work_dir, port: int, timeout: int = 600):
    """Run ``cfg`` with tools/dist_train.sh on 2 CPU processes (batch 1 per
    process), each dumping its final state; returns (output, rank 0 state,
    rank 1 state)."""
    path = dump_for_ddp(cfg, work_dir)
    out = run(['bash', 'tools/dist_train.sh', path, '2'],
              env=dict(PORT=str(port), PYTHONPATH=REPO),
              timeout=timeout)
    return (out, *rank_states(work_dir))


def assert_same_on_ranks(rank0: dict, rank1: dict) -> None:
    """Every parameter and buffer equal on both ranks, except BatchNorm
    statistics (per process by design)."""
    for key, value in rank0.items():
        if 'running_' in key or 'num_batches' in key:
            continue
        assert torch.equal(value, rank1[key]), f'{key} differs between ranks'


def train_interrupted_and_resumed(cfg_for, work_dir, at: int = 3):
    """Train ``cfg_for(work_dir / 'ref')`` uninterrupted, and
    ``cfg_for(work_dir / 'cut')`` interrupted after iteration ``at``
    (InterruptHook) then resumed; returns (reference runner, resumed
    runner)."""
    import pytest
    from mmengine.runner import Runner
    reference = Runner.from_cfg(cfg_for(work_dir / 'ref'))
    reference.train()
    cfg = cfg_for(work_dir / 'cut')
    cfg.custom_hooks = list(
        cfg.custom_hooks) + [dict(type='InterruptHook', at=at)]
    with pytest.raises(KeyboardInterrupt):
        Runner.from_cfg(copy.deepcopy(cfg)).train()
    cfg.custom_hooks = cfg.custom_hooks[:-1]
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    return reference, resumed


def student_and_critic_wrappers(model, lr: float = 0.01):
    """Optim wrappers for a DistillationSegmentor with critics: SGD on
    every trainable part but the discriminator, Adam on the
    discriminator."""
    import torch
    from mmengine.optim import OptimWrapper, OptimWrapperDict
    params = [
        p for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith('discriminator')
    ]
    return OptimWrapperDict(
        student=OptimWrapper(torch.optim.SGD(params, lr=lr)),
        discriminator=OptimWrapper(
            torch.optim.Adam(model.discriminator.parameters(), lr=4e-4)))
