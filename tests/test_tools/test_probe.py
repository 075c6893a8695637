# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The probe: its tables on a tiny distillation model, and tools/probe.py."""
import copy
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmseg_kd.apis import probe as probe_lib
from mmseg_kd.losses import ATLoss, FitNetLoss, KDLoss
from ..conftest import (REPO, build_mmseg, distill_model, fake_batch,
                        tiny_segmentor)

TOOL = osp.join(REPO, 'tools', 'probe.py')
DISTILL = dict(
    student_tensors=dict(
        logits='decode_head.conv_seg',
        sfeat='decode_head.convs.0',
        stage3=dict(path='backbone', index=3)),
    teacher_tensors=dict(
        logits='decode_head.conv_seg',
        tfeat='decode_head.convs.0',
        stage3=dict(path='backbone', index=3)),
    connectors=dict(
        sfeat=dict(type='ChannelConnector', norm_cfg=None, bias=False)),
    losses=dict(
        loss_kd=dict(type='KDLoss', student='logits', teacher='logits'),
        loss_fitnet=dict(
            type='FitNetLoss',
            student='sfeat',
            teacher='tfeat',
            loss_weight=10.0,
            weight_schedule=[
                dict(type='LinearWarmup', end=10, start_factor=0.5)
            ]),
        loss_at=dict(
            type='ATLoss',
            student='stage3',
            teacher='stage3',
            loss_weight=100.0)))


def tiny_cfg() -> dict:
    """Teacher width 16, student width 8, no dropout (deterministic)."""
    models = []
    for width in (16, 8):
        model = tiny_segmentor(width=width)
        model['decode_head']['dropout_ratio'] = 0.0
        model['auxiliary_head']['dropout_ratio'] = 0.0
        models.append(dict(model=model))
    return distill_model(
        teacher=models[0], student=models[1], **copy.deepcopy(DISTILL))


def write_config(path, model: dict) -> str:
    path.write_text(f'model = {model!r}\n')
    return str(path)


def load_tool():
    """tools/probe.py as a module, with tools/ importable as when it runs
    as a script (it imports the tools' shared ``_launch``)."""
    tools = osp.dirname(TOOL)
    if tools not in sys.path:
        sys.path.insert(0, tools)
    spec = importlib.util.spec_from_file_location('probe_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def probed():
    model = build_mmseg(tiny_cfg())
    batch = fake_batch(batch_size=2, size=(64, 64))
    report = probe_lib.probe(model, batch, iteration=0)
    return model, batch, report


def test_probe_tensor_rows(probed):
    model, _, report = probed
    assert report.input_shape == (2, 3, 64, 64)
    rows = {r.name: r for r in report.tensors}
    # student names first, then teacher-only names
    assert [r.name
            for r in report.tensors] == ['logits', 'sfeat', 'stage3', 'tfeat']
    logits = rows['logits']
    for side in (logits.student, logits.teacher):
        assert side.path == 'decode_head.conv_seg'
        assert side.shape == (2, 11, 8, 8)
        assert side.stride == (8.0, 8.0)
        assert side.dtype == 'float32'
        assert side.connector is None and side.connected_shape is None
    sfeat = rows['sfeat']
    assert sfeat.teacher is None
    assert sfeat.student.shape == (2, 16, 8, 8)
    assert sfeat.student.connector == \
        'ChannelConnector(Conv1x1 16->32 no bias)'
    assert sfeat.student.connected_shape == (2, 32, 8, 8)
    assert rows['tfeat'].student is None
    assert rows['tfeat'].teacher.shape == (2, 32, 8, 8)
    stage3 = rows['stage3']
    assert stage3.student.path == 'backbone[3]'
    assert stage3.student.shape == (2, 64, 8, 8)
    assert stage3.teacher.shape == (2, 128, 8, 8)
    assert stage3.teacher.stride == (8.0, 8.0)
    # the teacher stays frozen, the student's mode is restored
    assert not any(m.training for m in model.teacher.modules())
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert model.student.training


def test_probe_losses_match_direct_computation(probed):
    model, batch, report = probed
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    assert data['teacher_inputs'] == {}  # same normalisation: shared
    student, teacher = model.student, model.teacher.model
    student.train()
    with torch.no_grad():
        task = student.loss(inputs, samples)
        task_total = sum(float(v) for k, v in task.items() if 'loss' in k)
        s_feats = student.extract_feat(inputs)
        t_feats = teacher.extract_feat(inputs)
        s_x = student.decode_head._transform_inputs(s_feats)
        t_x = teacher.decode_head._transform_inputs(t_feats)
        s_conv, t_conv = student.decode_head.convs(s_x), \
            teacher.decode_head.convs(t_x)
        regressor = model.distiller.connectors['sfeat']
        expected = dict(
            loss_kd=KDLoss()(student.decode_head.cls_seg(s_conv),
                             teacher.decode_head.cls_seg(t_conv)),
            loss_fitnet=0.5 * FitNetLoss(10.0)(regressor(s_conv), t_conv),
            loss_at=ATLoss(100.0)(s_feats[3], t_feats[3]))
    assert report.task_total == pytest.approx(task_total, rel=1e-5)
    assert set(report.task_losses) == {'decode.loss_ce', 'aux.loss_ce'}
    rows = {r.name: r for r in report.losses}
    assert list(rows) == ['loss_kd', 'loss_fitnet', 'loss_at']
    for name, value in expected.items():
        row = rows[name]
        assert row.value == pytest.approx(float(value), rel=1e-4), name
        assert row.ratio == pytest.approx(
            float(value) / task_total, rel=1e-4), name
    fit = rows['loss_fitnet']
    assert (fit.type, fit.student, fit.teacher) == ('FitNetLoss', 'sfeat',
                                                    'tfeat')
    assert fit.loss_weight == 10.0 and fit.factor == 0.5
    assert fit.unweighted == pytest.approx(fit.value / 5.0)
    assert rows['loss_kd'].factor is None


def test_probe_iteration_and_text(probed):
    model, batch, _ = probed
    report = probe_lib.probe(model, batch, iteration=5, source='test batch')
    fit = next(r for r in report.losses if r.name == 'loss_fitnet')
    assert fit.factor == pytest.approx(0.75)
    text = probe_lib.format_report(report)
    assert 'Input: 2x3x64x64 (test batch)' in text
    assert 'Loss terms at iteration 5' in text
    assert 'ChannelConnector(Conv1x1 16->32 no bias)' in text
    assert 'x0.75' in text


def test_probe_weights_for_a_ratio(probed):
    """--ratio R: for every term, the weight that makes it R x the task
    loss: R * task / (value / weight), e.g. FitNet's 10 x 0.5 schedule."""
    _, _, report = probed
    weights = report.weights_for_ratio(0.5)
    assert set(weights) == {'loss_kd', 'loss_fitnet', 'loss_at'}
    for row in report.losses:
        unweighted = row.value / (row.loss_weight * (row.factor or 1.0))
        assert weights[row.name] == pytest.approx(
            0.5 * report.task_total / unweighted, rel=1e-6)
        # that weight times the unweighted value is half the task loss
        assert weights[row.name] * unweighted == pytest.approx(
            0.5 * report.task_total, rel=1e-6)
    text = probe_lib.format_report(report, ratio=0.5)
    assert 'Weights that make each term 0.5 x the task loss' in text
    assert f"{weights['loss_at']:.4g}" in text
    assert 'Weights that make' not in probe_lib.format_report(report)


def test_run_probe_random_batch_and_checkpoint(tmp_path):
    cfg = tiny_cfg()
    ckpt = tmp_path / 'teacher.pth'
    teacher = build_mmseg(cfg['teacher']['model'])
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    cfg['teacher']['checkpoint'] = str(ckpt)
    config = Config(dict(model=cfg))
    report = probe_lib.run_probe(config, data='random', input_size=(48, 64))
    assert report.input_shape == (2, 3, 48, 64)
    assert report.source == 'random batch of 2 images at 48x64'
    assert report.teacher.startswith(f'checkpoint {ckpt}')
    logits = report.tensors[0]
    assert logits.student.shape == (2, 11, 6, 8)
    assert logits.student.stride == (8.0, 8.0)
    # no dataloader in this config: 'data' fails, 'auto' falls back
    with pytest.raises(KeyError, match='no train_dataloader'):
        probe_lib.run_probe(config, data='data')
    with pytest.raises(ValueError, match="data='random'"):
        probe_lib.run_probe(config, data='data', input_size=(48, 64))


def test_tool_lists_modules_and_reports(tmp_path, capsys):
    tool = load_tool()
    config = write_config(tmp_path / 'tiny.py', tiny_cfg())
    assert tool.main([config, '--list-modules', 'student']) == 0
    out = capsys.readouterr().out
    assert 'student modules (output shapes on a 1x3x64x64 input)' in out
    lines = {line.split()[0]: line for line in out.splitlines() if line}
    assert 'ConvModule' in lines['decode_head.convs.0']
    assert '(1, 16, 8, 8)' in lines['decode_head.convs.0']
    assert 'Conv2d' in lines['decode_head.conv_seg']
    assert 'ResNetV1c' in lines['backbone']

    assert tool.main([config]) == 0
    out = capsys.readouterr().out
    assert 'random batch of 2 images at 64x64; train_dataloader ' \
        'unavailable' in out
    for text in ('decode_head.conv_seg', 'backbone[3]', 'loss_fitnet',
                 'FitNetLoss', 'value / task'):
        assert text in out

    assert tool.main([config, '--data']) == 1
    err = capsys.readouterr().err
    assert 'probe: error: KeyError: The config has no train_dataloader' in err


def test_tool_wrong_path_exits_with_close_names(tmp_path):
    cfg = tiny_cfg()
    cfg['distill']['teacher_tensors']['tfeat'] = 'decode_head.conv.0'
    config = write_config(tmp_path / 'wrong.py', cfg)
    proc = subprocess.run([sys.executable, TOOL, config],
                          cwd=REPO,
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "probe: error: KeyError: The teacher has no module " \
        "'decode_head.conv.0'. Closest module names: decode_head.convs.0" \
        in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert '--debug' in proc.stderr


@pytest.mark.parametrize('where', ['pretrained', 'init_cfg'])
def test_unavailable_pretrained_weights_name_the_option(tmp_path, where):
    """A student whose pretrained weights cannot be loaded here fails to
    initialise with the --cfg-options that switch them off, wherever its
    config asks for them."""
    model = tiny_cfg()
    missing = str(tmp_path / 'missing.pth')
    student = model['student']['model']
    if where == 'pretrained':
        student['pretrained'] = missing
        option = 'model.student.overrides.pretrained=None'
    else:
        student['backbone']['init_cfg'] = dict(
            type='Pretrained', checkpoint=missing)
        option = 'model.student.overrides.backbone.init_cfg=None'
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', model))
    with pytest.raises(RuntimeError, match=f'--cfg-options {option}'):
        probe_lib.build_model(cfg)
