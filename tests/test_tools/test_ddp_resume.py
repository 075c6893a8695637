# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Distributed runs that resume exactly: a rank SIGKILLed mid-run, then
--resume, ends bit for bit where an uninterrupted run ends (dropout on,
discriminator, CIRKD memory, schedules, logged losses); DDP checkpoints
hold plain keys; zero-weight connected terms do not break DDP."""
import glob
import json
import os.path as osp

import torch
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from mmseg_kd.utils import load_checkpoint_file
from ..conftest import REPO
from .helpers import dump_for_ddp, rank_states, run, tiny_camvid_cfg
from .test_stateful_training import stateful_cfg


def logged_losses(work_dir, iters):
    """{iteration: {loss key: value}} from every scalars.json of a work dir
    (the later run's value wins for an iteration logged twice)."""
    out = {}
    for path in sorted(
            glob.glob(
                osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get('iter') in iters:
                    out[rec['iter']] = {
                        k: v
                        for k, v in rec.items() if 'loss' in k
                    }
    return out


def ddp_run(cfg, work_dir, port, *args, check=True):
    path = dump_for_ddp(cfg, work_dir)
    return run(['bash', 'tools/dist_train.sh', path, '2', *args],
               env=dict(PORT=str(port), PYTHONPATH=REPO),
               check=check)


def test_sigkilled_rank_resumes_bit_for_bit(tmp_path):

    def cfg_for(work_dir):
        # dropout 0.1 in the heads: exact only if the random state resumes
        cfg = stateful_cfg(work_dir, iters=6)
        for side in (cfg.model.teacher, cfg.model.student):
            side.model.decode_head.dropout_ratio = 0.1
            side.model.auxiliary_head.dropout_ratio = 0.1
        cfg.default_hooks.checkpoint.interval = 2
        cfg.default_hooks.checkpoint.max_keep_ckpts = 1
        return cfg

    ref_dir, cut_dir = tmp_path / 'ref', tmp_path / 'cut'
    ddp_run(cfg_for(ref_dir), ref_dir, 29541)
    cfg = cfg_for(cut_dir)
    cfg.custom_hooks = [dict(type='KillRankHook', rank=1, after=5)]
    code, out = ddp_run(cfg, cut_dir, 29542, check=False)
    assert code != 0, out[-3000:]
    assert osp.exists(cut_dir / 'iter_4.pth')
    assert not osp.exists(cut_dir / 'iter_2.pth')  # max_keep_ckpts=1
    assert not osp.exists(cut_dir / 'iter_6.pth')
    ddp_run(cfg_for(cut_dir), cut_dir, 29543, '--resume')

    ref = load_checkpoint_file(str(ref_dir / 'iter_6.pth'))
    res = load_checkpoint_file(str(cut_dir / 'iter_6.pth'))
    # plain keys under DDP: no '.module.' of the per-part DDP wrappers
    assert not any('.module.' in k for k in ref['state_dict'])
    assert {
        'student.backbone.stem.0.weight',
        'discriminator.critics.loss_adv.net.l1.0.bias',
        'distiller.losses.loss_mem.pixel_queue'
    } <= set(ref['state_dict'])
    assert ref['state_dict'].keys() == res['state_dict'].keys()
    with DefaultScope.overwrite_default_scope('mmseg'):
        single = MODELS.build(cfg_for(tmp_path / 'single').model)
    assert set(single.state_dict()) == set(ref['state_dict'])
    for key, value in ref['state_dict'].items():
        assert torch.equal(value, res['state_dict'][key]), key
    for name in ('student', 'discriminator'):
        a, b = ref['optimizer'][name]['state'], res['optimizer'][name]['state']
        for index, fields in a.items():
            for field, value in fields.items():
                assert torch.equal(
                    torch.as_tensor(value),
                    torch.as_tensor(b[index][field])), (name, index, field)
    assert ref['param_schedulers'] == res['param_schedulers']
    # every rank, CIRKD queues and pointers included; plain BN keeps running
    # statistics per process and a checkpoint holds rank 0's, from which
    # every rank resumes (with SyncBN they are the same on every rank)
    for r, (a,
            b) in enumerate(zip(rank_states(ref_dir), rank_states(cut_dir))):
        for key in a:
            if r and ('running_' in key or 'num_batches' in key):
                continue
            assert torch.equal(a[key], b[key]), (r, key)
    # the logged losses of the resumed iterations
    ref_log = logged_losses(ref_dir, (5, 6))
    res_log = logged_losses(cut_dir, (5, 6))
    assert set(ref_log) == {5, 6} and ref_log == res_log


def test_zero_weight_connected_term_under_ddp(tmp_path):
    """A connected feature term whose warm-up starts at factor 0, beside a
    connected term that is on: the idle connector still gets a (zero)
    gradient, so DDP without find_unused_parameters does not stop at
    iteration 2 ("Expected to have finished reduction")."""
    distill = dict(
        student_tensors=dict(
            feat=dict(path='decode_head.conv_seg', side='input'),
            deep='backbone.layer4'),
        teacher_tensors=dict(
            feat=dict(path='decode_head.conv_seg', side='input'),
            deep='backbone.layer4'),
        connectors=dict(
            feat=dict(type='ChannelConnector'),
            deep=dict(type='ChannelConnector')),
        losses=dict(
            loss_fit=dict(type='FitNetLoss', student='deep', teacher='deep'),
            loss_cwd_feat=dict(
                type='ChannelWiseDivergence',
                student='feat',
                teacher='feat',
                weight_schedule=[dict(type='LinearWarmup', end=10)])))
    cfg = tiny_camvid_cfg(str(tmp_path), iters=3, distill=distill)
    out = ddp_run(cfg, tmp_path, 29545)
    assert 'Iter(train) [3/3]' in out
    rank0, rank1 = rank_states(tmp_path)
    key = 'distiller.connectors.feat.0.proj.conv.weight'
    assert key in rank0 and torch.equal(rank0[key], rank1[key])
