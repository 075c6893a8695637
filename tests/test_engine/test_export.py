# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The student-only export: plain mmseg keys, a plain mmseg config that
works on another machine."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg_kd.engine.export import (dump_student_config, export_student,
                                    save_student, student_config,
                                    student_state_dict)
from mmseg_kd.segmentors import resolve_model_entry
from mmseg_kd.utils import NotACheckpointError
from ..conftest import REPO

SKD_HOLISTIC = osp.join(
    REPO, 'distillation_configs', 'skd',
    'skd_pixel-pair-holistic_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_'
    'camvid-360x360.py')


def test_student_keys_only_without_prefix(tmp_path):
    state = {
        'student.backbone.w': torch.ones(1),
        'teacher.model.backbone.w': torch.zeros(1),
        'distiller.connectors.f.w': torch.zeros(1),
        'discriminator.critics.loss_adv.net.w': torch.zeros(1)
    }
    assert list(student_state_dict(state)) == ['backbone.w']
    ddp = {f'module.{k}': v for k, v in state.items()}
    assert list(student_state_dict(ddp)) == ['backbone.w']
    with pytest.raises(KeyError, match='not a DistillationSegmentor'):
        student_state_dict({'backbone.w': torch.ones(1)})
    path = save_student(state, str(tmp_path / 's.pth'), dict(iter=3))
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['meta']['iter'] == 3 and 'mmseg_kd_version' in ckpt['meta']
    assert list(ckpt['state_dict']) == ['backbone.w']


def test_export_reads_any_checkpoint_layout_and_refuses_a_non_dict(tmp_path):
    state = {'student.backbone.w': torch.ones(1)}
    bare = tmp_path / 'bare.pth'  # a state dict saved on its own
    torch.save(state, bare)
    out = export_student(str(bare), str(tmp_path / 'a.pth'))
    assert list(torch.load(out,
                           weights_only=True)['state_dict']) == ['backbone.w']
    wrapped = tmp_path / 'wrapped.pth'
    torch.save(dict(state_dict=state, meta=None), wrapped)
    out = export_student(str(wrapped), str(tmp_path / 'b.pth'))
    exported = torch.load(out, weights_only=True)['state_dict']
    assert list(exported) == ['backbone.w']
    assert torch.equal(exported['backbone.w'], torch.ones(1))
    listed = tmp_path / 'list.pth'
    torch.save([torch.ones(1)], listed)
    with pytest.raises(NotACheckpointError, match='holds no state dict'):
        export_student(str(listed), str(tmp_path / 'c.pth'))


def test_student_config_is_plain_mmseg(monkeypatch):
    monkeypatch.setenv('CAMVID_ROOT', '/data/on/this/machine/camvid')
    cfg = Config.fromfile(SKD_HOLISTIC)
    model, _ = resolve_model_entry(cfg.model.student.to_dict(), 'student')
    out = student_config(cfg, model.to_dict())
    assert out.model.type == 'EncoderDecoder'
    assert out.optim_wrapper.optimizer.type == 'SGD'  # the student's
    assert 'constructor' not in out.optim_wrapper
    assert isinstance(out.param_scheduler, list)
    assert 'model_wrapper_cfg' not in out and 'distill' not in out
    assert out.default_hooks.checkpoint.type == 'CheckpointHook'
    assert not any(
        h.type in ('ExportStudentHook', 'BatchSizeCheckHook')
        for h in out.custom_hooks)


def test_dumped_student_config_keeps_the_data_root_placeholder(
        tmp_path, monkeypatch):
    """The exported config used to store this machine's expanded
    $CAMVID_ROOT; it keeps the placeholder, so CAMVID_ROOT (or the default
    data/camvid) applies wherever it is used."""
    monkeypatch.setenv('CAMVID_ROOT', '/data/on/this/machine/camvid')
    cfg = Config.fromfile(SKD_HOLISTIC)
    model, _ = resolve_model_entry(cfg.model.student.to_dict(), 'student')
    path = dump_student_config(cfg, model.to_dict(),
                               str(tmp_path / 'student_config.py'))
    text = open(path).read()
    assert '/data/on/this/machine' not in text
    assert "'{{$CAMVID_ROOT:data/camvid}}'" in text
    monkeypatch.setenv('CAMVID_ROOT', '/another/machine/camvid')
    again = Config.fromfile(path)
    assert again.train_dataloader.dataset.data_root == \
        '/another/machine/camvid'
    assert again.model.backbone.depth == 18
    monkeypatch.delenv('CAMVID_ROOT')
    assert Config.fromfile(path).test_dataloader.dataset.data_root == \
        'data/camvid'
