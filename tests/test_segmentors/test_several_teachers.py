# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Several teachers: each frozen, with its own tensors, preprocessing,
precision and checkpoint; their tensors named <teacher>.<tensor>; combined
into one target by a parameter-free ensemble."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmseg_kd.apis import probe as probe_lib
from mmseg_kd.distill import (MeanTeacherProbabilities,
                              mean_tempered_probabilities)
from mmseg_kd.engine.export import student_state_dict
from mmseg_kd.segmentors import TeacherGroup
from ..conftest import build_mmseg, fake_batch, tiny_segmentor


def sgd(model):
    from mmengine.optim import OptimWrapper
    return OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                        lr=0.01))


def two_teacher_model(checkpoint=None, precision=None):
    fcn = tiny_segmentor(width=16, mean=[0.0] * 3, std=[255.0] * 3)
    psp = tiny_segmentor(width=8, head='PSPHead', aux=False)
    return dict(
        type='DistillationSegmentor',
        teachers=dict(
            fcn=dict(model=fcn, checkpoint=checkpoint, precision=precision),
            psp=dict(model=psp)),
        student=dict(model=tiny_segmentor(width=8)),
        distill=dict(
            student_tensors=dict(
                logits='decode_head.conv_seg', stage3='backbone.layer3'),
            teacher_tensors=dict(
                fcn=dict(logits='decode_head.conv_seg'),
                psp=dict(
                    logits='decode_head.conv_seg', stage3='backbone.layer3')),
            teacher_ensembles=dict(
                mean=dict(
                    type='MeanTeacherProbabilities',
                    inputs=['fcn.logits', 'psp.logits'],
                    tau=2.0)),
            connectors=dict(stage3=dict(type='ChannelConnector')),
            losses=dict(
                loss_kd_mean=dict(
                    type='KDLoss', student='logits', teacher='mean', tau=2.0),
                loss_cwd_fcn=dict(
                    type='ChannelWiseDivergence',
                    student='logits',
                    teacher='fcn.logits'),
                loss_fit_psp=dict(
                    type='FitNetLoss', student='stage3',
                    teacher='psp.stage3')),
            probe_size=(64, 64)))


def test_mean_of_tempered_probabilities():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(2, 5, 4, 4, generator=gen) * 3
    b = torch.randn(2, 5, 2, 2, generator=gen) * 3  # another stride
    out = mean_tempered_probabilities([a, b], tau=2.0)
    b_up = F.interpolate(b, size=(4, 4), mode='bilinear', align_corners=False)
    expected = (F.softmax(a / 2, 1) + F.softmax(b_up / 2, 1)) / 2
    assert torch.allclose(F.softmax(out / 2, 1), expected, atol=1e-6)
    with pytest.raises(ValueError, match='same classes'):
        MeanTeacherProbabilities(['x', 'y'])([a, torch.randn(2, 6, 4, 4)])
    with pytest.raises(ValueError, match='at least two'):
        MeanTeacherProbabilities(['x'])


def test_two_teachers_train_each_frozen_with_its_own_inputs(mmseg_scope):
    model = MODELS.build(two_teacher_model())
    assert isinstance(model.teacher, TeacherGroup)
    assert set(model.teacher) == {'fcn', 'psp'}
    assert set(model.data_preprocessor.teachers) == {'fcn'}  # own mean/std
    keys = model.state_dict()
    assert any(k.startswith('teacher.fcn.model.') for k in keys)
    assert any(k.startswith('teacher.psp.model.') for k in keys)
    seen, ran = {}, []
    model.teacher['fcn'].model.backbone.stem[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('fcn', a[0].detach().clone()))
    model.teacher['psp'].model.backbone.stem[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('psp', a[0].detach().clone()))
    model.student.backbone.stem[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('student', a[0].detach().clone()))
    model.teacher['fcn'].model.auxiliary_head.conv_seg.register_forward_hook(
        lambda *a: ran.append('fcn aux'))
    batch = fake_batch()
    raw = torch.stack(batch['inputs']).float()
    model.train()
    log = model.train_step(batch, sgd(model))
    assert {'loss_kd_mean', 'loss_cwd_fcn', 'loss_fit_psp'} <= set(log)
    assert torch.allclose(seen['fcn'], raw[:, [2, 1, 0]] / 255, atol=1e-6)
    assert torch.equal(seen['psp'], seen['student'])  # shared inputs
    assert ran == []  # no teacher runs what its tensors do not need
    for name in ('fcn', 'psp'):
        t = model.teacher[name]
        assert not any(m.training for m in t.modules())
        assert all(p.grad is None and not p.requires_grad
                   for p in t.parameters())
    assert list(student_state_dict(
        model.state_dict()))[0].startswith('backbone.')


def test_ensemble_target_and_probe_rows(mmseg_scope):
    model = MODELS.build(two_teacher_model())
    batch = fake_batch()
    report = probe_lib.probe(model, batch)
    rows = {r.name: r for r in report.tensors}
    assert rows['fcn.logits'].teacher.shape == (2, 11, 8, 8)
    assert rows['psp.stage3'].teacher.path.startswith('backbone.layer3')
    assert 'MeanTeacherProbabilities(fcn.logits, psp.logits)' in \
        rows['mean'].teacher.path
    assert 'fcn: EncoderDecoder' in report.teacher and \
        'psp: EncoderDecoder' in report.teacher
    text = probe_lib.format_report(report)
    assert 'fcn.logits' in text and 'mean' in text
    # the ensemble tensor is the mean of the two tempered distributions
    model.train()
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        step = model.distill_step(data['inputs'], data['data_samples'],
                                  data['teacher_inputs'])
    t = step.teacher_records
    expected = (F.softmax(t['fcn.logits'] / 2, 1) +
                F.softmax(t['psp.logits'] / 2, 1)) / 2
    assert torch.allclose(
        F.softmax(step.distill.teacher['mean'] / 2, 1), expected, atol=1e-6)


def test_each_teacher_has_its_own_checkpoint_and_precision(
        tmp_path, mmseg_scope):
    fcn = build_mmseg(
        tiny_segmentor(width=16, mean=[0.0] * 3, std=[255.0] * 3))
    path = str(tmp_path / 'fcn.pth')
    torch.save({'state_dict': fcn.state_dict()}, path)
    model = MODELS.build(two_teacher_model(checkpoint=path, precision='bf16'))
    for key, value in fcn.state_dict().items():
        assert torch.equal(model.teacher['fcn'].model.state_dict()[key], value)
    out = model.teacher(torch.randn(1, 3, 64, 64))
    assert out['fcn.logits'].dtype == torch.bfloat16
    assert out['psp.logits'].dtype == torch.float32
    bad = tiny_segmentor(width=8)
    torch.save({'state_dict': build_mmseg(bad).state_dict()}, path)
    with pytest.raises(RuntimeError, match="fcn checkpoint"):
        MODELS.build(two_teacher_model(checkpoint=path))


def test_several_teacher_config_errors(mmseg_scope):
    cfg = two_teacher_model()
    cfg['teacher'] = dict(model=tiny_segmentor(width=16))
    with pytest.raises(KeyError, match='exactly one of teacher'):
        MODELS.build(cfg)
    cfg = two_teacher_model()
    cfg['distill']['teacher_tensors'] = dict(logits='decode_head.conv_seg')
    with pytest.raises(KeyError, match="names each teacher's tensors"):
        MODELS.build(cfg)
    cfg = two_teacher_model()
    cfg['distill']['teacher_ensembles']['mean']['inputs'] = [
        'fcn.logits', 'nope.logits'
    ]
    with pytest.raises(KeyError, match='not teacher tensors'):
        MODELS.build(cfg)


def test_probe_tool_functions_with_several_teachers():
    from mmengine.config import Config
    cfg = Config(dict(model=two_teacher_model()))
    assert set(probe_lib.teacher_entries(cfg)) == {'fcn', 'psp'}
    report = probe_lib.run_probe(cfg, 'random', (64, 64))
    assert 'fcn: NO checkpoint' in report.teacher
    assert 'psp: NO checkpoint' in report.teacher
    rows, _ = probe_lib.list_modules(cfg, 'psp', (64, 64))
    assert any(r.path == 'decode_head.psp_modules' for r in rows)
    with pytest.raises(ValueError, match='side must be one of'):
        probe_lib.list_modules(cfg, 'teacher')
