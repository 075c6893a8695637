# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmseg.models import EncoderDecoder
from mmseg.registry import MODELS
from torch import nn

from mmseg_kd.losses import DistillLoss
from mmseg_kd.utils import CheckpointMismatchError
from ..conftest import (MEAN, STD, build_mmseg, distill_model, fake_batch,
                        tiny_segmentor)


def sgd(model, lr=0.05):
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(torch.optim.SGD(params, lr=lr))


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def assert_weights_unchanged(before, module):
    """No parameter of ``module`` moved since ``before`` (a
    :func:`snapshot`); BN running statistics may have (the forward ran)."""
    after = module.state_dict()
    assert all(
        torch.equal(before[k], after[k]) for k in before
        if not k.endswith('num_batches_tracked') and 'running' not in k)


def test_build_from_dict_and_from_config_file(tmp_path):
    model = MODELS.build(distill_model())
    assert isinstance(model.student, EncoderDecoder)
    assert isinstance(model.teacher.model, EncoderDecoder)
    path = tmp_path / 'student.py'
    Config(dict(model=tiny_segmentor(width=8))).dump(str(path))
    model = MODELS.build(distill_model(student=dict(config=str(path))))
    assert model.student.backbone.base_channels == 8
    with pytest.raises(FileNotFoundError, match='does not exist'):
        MODELS.build(
            distill_model(student=dict(config=str(tmp_path / 'x.py'))))
    with pytest.raises(KeyError, match='exactly one of'):
        MODELS.build(distill_model(student=dict(checkpoint='a.pth')))


def test_build_from_mmseg_scheme_with_overrides():
    student = dict(
        config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
        overrides=dict(
            pretrained=None,
            data_preprocessor=dict(size=(64, 64)),
            decode_head=dict(num_classes=11),
            auxiliary_head=dict(num_classes=11)))
    model = MODELS.build(distill_model(student=student))
    assert model.student.backbone.depth == 18
    assert model.student.decode_head.num_classes == 11
    # SyncBN of the mmseg config cannot run without CUDA
    if not torch.cuda.is_available():
        assert not any(
            isinstance(m, nn.SyncBatchNorm) for m in model.modules())


def test_teacher_frozen_in_eval_and_never_updated():
    model = MODELS.build(distill_model())
    model.train()
    assert model.student.training
    assert all(not m.training for m in model.teacher.modules())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    before = snapshot(model.teacher)
    student_before = snapshot(model.student)
    optim = sgd(model)
    for _ in range(2):
        model.train()  # mmengine calls train() around validation
        log = model.train_step(fake_batch(), optim)
    assert {'decode.loss_ce', 'aux.loss_ce', 'loss_kd'} <= set(log)
    after = snapshot(model.teacher)
    assert all(torch.equal(before[k], after[k]) for k in before), \
        'teacher weights or BN statistics changed'
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(not torch.equal(student_before[k], v)
               for k, v in model.student.state_dict().items())


def test_teacher_dropout_and_droppath_inactive_in_training():
    teacher = tiny_segmentor(width=16)
    teacher['decode_head']['dropout_ratio'] = 0.9
    model = MODELS.build(distill_model(teacher=dict(model=teacher)))
    model.train()
    inputs = torch.randn(2, 3, 64, 64)
    a = model.teacher(inputs)['logits']
    b = model.teacher(inputs)['logits']
    assert torch.equal(a, b), 'teacher forward is not deterministic'
    assert not a.requires_grad


def test_teacher_gets_its_own_preprocessing():
    raw_mean, raw_std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    teacher = tiny_segmentor(width=16, mean=raw_mean, std=raw_std)
    teacher['data_preprocessor']['bgr_to_rgb'] = False
    model = MODELS.build(distill_model(teacher=dict(model=teacher)))
    assert 'teacher' in model.data_preprocessor.teachers
    seen = {}
    model.teacher.model.backbone.stem[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('teacher', a[0].detach().clone()))
    model.student.backbone.stem[0].register_forward_pre_hook(
        lambda m, a: seen.__setitem__('student', a[0].detach().clone()))
    batch = fake_batch()
    raw = torch.stack(batch['inputs']).float()
    model.train_step(batch, sgd(model))
    assert torch.equal(seen['teacher'], raw)  # no swap, no normalisation
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    expected = (raw[:, [2, 1, 0]] - mean) / std
    assert torch.allclose(seen['student'], expected, atol=1e-5)
    # identical normalisation: the student's inputs are shared, not redone
    shared = MODELS.build(distill_model())
    assert len(shared.data_preprocessor.teachers) == 0


def test_teacher_runs_only_what_is_needed():
    ran = []
    model = MODELS.build(
        distill_model(
            teacher_tensors=dict(logits='backbone.layer3'),
            student_tensors=dict(logits='backbone.layer3'),
            losses=dict(
                loss_at=dict(
                    type='KDLoss', student='logits', teacher='logits')),
            connectors=dict(logits=dict(type='ChannelConnector'))))
    model.teacher.model.decode_head.register_forward_pre_hook(
        lambda *a: ran.append('decode'))
    model.teacher.model.auxiliary_head.register_forward_pre_hook(
        lambda *a: ran.append('aux'))
    model.teacher.model.backbone.layer4.register_forward_pre_hook(
        lambda *a: ran.append('layer4'))
    model.teacher.model.loss = None  # a teacher loss would fail loudly
    model.train_step(fake_batch(), sgd(model))
    assert ran == []
    # the auxiliary head runs when one of its tensors is needed
    model = MODELS.build(
        distill_model(
            teacher_tensors=dict(logits='auxiliary_head.conv_seg'),
            student_tensors=dict(logits='auxiliary_head.conv_seg')))
    model.teacher.model.auxiliary_head.register_forward_pre_hook(
        lambda *a: ran.append('aux'))
    model.train_step(fake_batch(), sgd(model))
    assert ran == ['aux']


def test_pre_relu_record_of_conv_module():
    student = tiny_segmentor(width=8, head='PSPHead')
    teacher = tiny_segmentor(width=16, head='PSPHead')
    model = MODELS.build(
        distill_model(
            teacher=dict(model=teacher),
            student=dict(model=student),
            student_tensors=dict(
                pre='decode_head.bottleneck.bn',
                post='decode_head.bottleneck'),
            teacher_tensors=dict(
                pre='decode_head.bottleneck.bn',
                post='decode_head.bottleneck'),
            losses=dict(
                loss_pre=dict(type='KDLoss', student='pre', teacher='pre')),
            connectors=dict(pre=dict(type='ChannelConnector'))))
    inputs = torch.randn(2, 3, 64, 64)
    t = model.teacher(inputs)
    assert (t['pre'] < 0).any(), 'teacher pre-ReLU record was overwritten'
    assert torch.allclose(torch.relu(t['pre']), t['post'])
    _, s = model.student_recorder.run(lambda: model.student._forward(inputs))
    assert (s['pre'] < 0).any()
    assert torch.allclose(torch.relu(s['pre']), s['post'])
    before = snapshot(model.student)
    log = model.train_step(fake_batch(), sgd(model))  # and it trains
    assert torch.isfinite(log['loss_pre']) and float(log['loss_pre']) > 0
    after = model.student.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_logit_class_mismatch_fails_at_build():
    teacher = tiny_segmentor(width=16, num_classes=19)
    with pytest.raises(ValueError) as err:
        MODELS.build(distill_model(teacher=dict(model=teacher)))
    text = str(err.value)
    assert "'loss_kd'" in text and 'num_classes' in text
    assert '(1, 11, 8, 8)' in text and '(1, 19, 8, 8)' in text


def test_feature_loss_without_connector_names_shapes_and_fix():
    with pytest.raises(ValueError) as err:
        MODELS.build(
            distill_model(
                student_tensors=dict(feat='backbone.layer4'),
                teacher_tensors=dict(feat='backbone.layer4'),
                losses=dict(
                    loss_cwd=dict(
                        type='ChannelWiseDivergence',
                        student='feat',
                        teacher='feat'))))
    text = str(err.value)
    assert '(1, 64, 8, 8)' in text and '(1, 128, 8, 8)' in text
    assert 'ChannelConnector' in text


def test_feature_cwd_through_connector_trains_connector():
    model = MODELS.build(
        distill_model(
            student_tensors=dict(feat='backbone.layer4'),
            teacher_tensors=dict(feat='backbone.layer4'),
            connectors=dict(feat=dict(type='ChannelConnector')),
            losses=dict(
                loss_cwd=dict(
                    type='ChannelWiseDivergence',
                    student='feat',
                    teacher='feat',
                    tau=4.0,
                    loss_weight=3.0))))
    key = 'distiller.connectors.feat.0.proj.conv.weight'
    assert key in model.state_dict()
    before = model.state_dict()[key].clone()
    log = model.train_step(fake_batch(), sgd(model))
    assert log['loss_cwd'] > 0
    assert not torch.equal(before, model.state_dict()[key])


def test_wrong_paths_and_names_fail_at_build():
    with pytest.raises(KeyError) as err:
        MODELS.build(
            distill_model(teacher_tensors=dict(logits='decode_head.conv_sg')))
    assert 'decode_head.conv_seg' in str(err.value)
    with pytest.raises(RuntimeError, match='did not produce'):
        MODELS.build(
            distill_model(
                student_tensors=dict(
                    logits=dict(path='decode_head.conv_seg', call=1))))
    with pytest.raises(KeyError, match='not a recorded student tensor'):
        MODELS.build(
            distill_model(
                losses=dict(
                    loss_kd=dict(
                        type='KDLoss', student='feat', teacher='logits'))))
    with pytest.raises(ValueError, match='must contain "loss"'):
        MODELS.build(
            distill_model(
                losses=dict(
                    kd=dict(type='KDLoss', student='logits',
                            teacher='logits'))))
    with pytest.raises(KeyError, match='unknown keys'):
        MODELS.build(distill_model(temperature=3))
    cfg = distill_model()
    cfg['data_preprocessor'] = dict(type='SegDataPreProcessor')
    with pytest.raises(ValueError, match='takes no data_preprocessor'):
        MODELS.build(cfg)
    with pytest.raises(KeyError, match='teacher option'):
        MODELS.build(
            distill_model(
                student=dict(model=tiny_segmentor(), precision='bf16')))


def test_strict_teacher_checkpoint(tmp_path):
    teacher_cfg = tiny_segmentor(width=16)
    good = build_mmseg(teacher_cfg)
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=good.state_dict()), path)
    model = MODELS.build(
        distill_model(teacher=dict(model=teacher_cfg, checkpoint=str(path))))
    for k, v in good.state_dict().items():
        assert torch.equal(model.teacher.model.state_dict()[k], v)

    no_aux = {
        k: v
        for k, v in good.state_dict().items()
        if not k.startswith('auxiliary_head')
    }
    torch.save(dict(state_dict=no_aux), path)
    with pytest.raises(CheckpointMismatchError) as err:
        MODELS.build(
            distill_model(
                teacher=dict(model=teacher_cfg, checkpoint=str(path))))
    text = str(err.value)
    assert 'missing in checkpoint' in text and 'auxiliary_head' in text
    assert 'overrides=dict(auxiliary_head=None)' in text

    other = build_mmseg(tiny_segmentor(width=16, num_classes=19))
    state = dict(other.state_dict(), extra_weight=torch.zeros(1))
    torch.save(dict(state_dict=state), path)
    with pytest.raises(CheckpointMismatchError) as err:
        MODELS.build(
            distill_model(
                teacher=dict(model=teacher_cfg, checkpoint=str(path))))
    text = str(err.value)
    assert 'shape mismatch' in text and 'number of classes' in text
    assert 'unexpected in checkpoint (1): extra_weight' in text

    torch.save(
        dict(state_dict={
            'student.' + k: v
            for k, v in good.state_dict().items()
        }), path)
    with pytest.raises(CheckpointMismatchError, match='export_student'):
        MODELS.build(
            distill_model(
                teacher=dict(model=teacher_cfg, checkpoint=str(path))))
    with pytest.raises(FileNotFoundError):
        MODELS.build(
            distill_model(
                teacher=dict(
                    model=teacher_cfg, checkpoint=str(tmp_path / 'none.pth'))))


def test_init_weights_leaves_the_teacher_alone(tmp_path):
    teacher_cfg = tiny_segmentor(width=16)
    teacher = build_mmseg(teacher_cfg)
    path = tmp_path / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), path)
    model = MODELS.build(
        distill_model(teacher=dict(model=teacher_cfg, checkpoint=str(path))))
    model.init_weights()
    for k, v in teacher.state_dict().items():
        assert torch.equal(model.teacher.model.state_dict()[k], v)


def test_prediction_is_the_students():
    model = MODELS.build(distill_model()).eval()
    inputs = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(
            model(inputs, mode='tensor'), model.student(inputs, mode='tensor'))
        batch = model.data_preprocessor(fake_batch(1), False)
        preds = model.test_step(fake_batch(1))
        ref = model.student.predict(batch['inputs'], batch['data_samples'])
    assert torch.equal(preds[0].pred_sem_seg.data, ref[0].pred_sem_seg.data)


def test_teacher_precision():
    model = MODELS.build(
        distill_model(
            teacher=dict(model=tiny_segmentor(width=16), precision='bf16')))
    out = model.teacher(torch.randn(1, 3, 64, 64))['logits']
    assert out.dtype == torch.bfloat16
    log = model.train_step(fake_batch(), sgd(model))
    assert log['loss_kd'].dtype == torch.float32  # losses run in fp32
    assert torch.isfinite(log['loss_kd']) and float(log['loss_kd']) > 0
    with pytest.raises(ValueError, match='precision'):
        MODELS.build(
            distill_model(
                teacher=dict(model=tiny_segmentor(
                    width=16), precision='int8')))


@MODELS.register_module(force=True)
class _NaNAfterFirstLoss(DistillLoss):
    """Test helper: finite at iteration 0, NaN afterwards."""

    uses_iteration = True

    def compute(self, student, teacher, labels, iteration=0):
        value = (student - teacher).abs().mean()
        return value if iteration == 0 else value * float('nan')


def test_nonfinite_guard_names_term_and_iteration(fresh_message_hub):
    losses = dict(
        loss_bad=dict(
            type='_NaNAfterFirstLoss', student='logits', teacher='logits'))
    model = MODELS.build(distill_model(losses=copy.deepcopy(losses)))
    optim = sgd(model)
    fresh_message_hub.update_info('iter', 0)  # what the runner does
    model.train_step(fake_batch(), optim)
    fresh_message_hub.update_info('iter', 1)
    with pytest.raises(FloatingPointError) as err:
        model.train_step(fake_batch(), optim)
    assert "['loss_bad']" in str(err.value) and 'iteration 1' in str(err.value)
    model = MODELS.build(distill_model(losses=losses, nonfinite='skip'))
    optim = sgd(model)
    fresh_message_hub.update_info('iter', 0)
    model.train_step(fake_batch(), optim)
    before = snapshot(model.student)
    fresh_message_hub.update_info('iter', 1)
    log = model.train_step(fake_batch(), optim)
    assert log['skipped_step'] == 1
    assert_weights_unchanged(before, model.student)


def test_nonfinite_task_loss_is_guarded_too(fresh_message_hub, monkeypatch):
    """A NaN in the student's own loss would write NaN into its weights
    as surely as a NaN distillation term."""
    model = MODELS.build(distill_model(nonfinite='skip'))
    head = model.student.decode_head
    head_loss = head.loss_by_feat

    def nan_loss(*args, **kwargs):
        losses = head_loss(*args, **kwargs)
        losses['loss_ce'] = losses['loss_ce'] * float('nan')
        return losses

    monkeypatch.setattr(head, 'loss_by_feat', nan_loss)
    optim = sgd(model)
    before = snapshot(model.student)
    fresh_message_hub.update_info('iter', 0)
    log = model.train_step(fake_batch(), optim)
    assert log['skipped_step'] == 1
    assert_weights_unchanged(before, model.student)
    model = MODELS.build(distill_model())
    monkeypatch.setattr(
        model.student.decode_head, 'loss_by_feat', lambda *a, **k: dict(
            loss_ce=torch.tensor(float('inf'), requires_grad=True)))
    with pytest.raises(FloatingPointError, match=r"\['decode.loss_ce'\]"):
        model.train_step(fake_batch(), sgd(model))


def test_student_checkpoint_is_loaded_and_survives_init_weights(tmp_path):
    student_cfg = tiny_segmentor(width=8)
    trained = build_mmseg(student_cfg)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    path = tmp_path / 'student.pth'
    torch.save(dict(state_dict=trained.state_dict()), path)
    model = MODELS.build(
        distill_model(student=dict(model=student_cfg, checkpoint=str(path))))
    model.init_weights()
    for k, v in trained.state_dict().items():
        assert torch.equal(model.student.state_dict()[k], v), k
    bad = {
        k: v
        for k, v in trained.state_dict().items()
        if not k.startswith('auxiliary_head')
    }
    torch.save(dict(state_dict=bad), path)
    with pytest.raises(CheckpointMismatchError, match='student checkpoint'):
        MODELS.build(
            distill_model(
                student=dict(model=student_cfg, checkpoint=str(path))))


def test_many_skipped_steps_in_a_row_stop_the_run(fresh_message_hub):
    """nonfinite='skip' on a run where every step is non-finite used to run
    to the end and export an untrained student."""
    losses = dict(
        loss_bad=dict(
            type='_NaNAfterFirstLoss', student='logits', teacher='logits'))
    model = MODELS.build(
        distill_model(losses=losses, nonfinite='skip', max_skipped_steps=3))
    optim = sgd(model)
    for it in range(3):
        fresh_message_hub.update_info('iter', it)
        log = model.train_step(fake_batch(), optim)
        assert log.get('skipped_step') == (1 if it else None)
    fresh_message_hub.update_info('iter', 3)
    with pytest.raises(FloatingPointError) as err:
        model.train_step(fake_batch(), optim)
    assert "['loss_bad']" in str(err.value)
    assert '3 skipped steps in a row' in str(err.value)


def test_loading_a_distillation_checkpoint_is_strict():
    """mmengine loads non-strictly with a warning; a distillation checkpoint
    that misses a student key, or has an unexpected distiller key, would
    have resumed or tested random weights."""
    from mmengine.runner.checkpoint import load_state_dict

    from mmseg_kd.utils import CheckpointMismatchError
    model = MODELS.build(distill_model())
    state = model.state_dict()
    missing = {
        k: v
        for k, v in state.items() if k != 'student.decode_head.conv_seg.bias'
    }
    with pytest.raises(CheckpointMismatchError) as err:
        load_state_dict(model, missing)
    assert 'student.decode_head.conv_seg.bias' in str(err.value)
    extra = dict(state, **{'distiller.connectors.x.weight': torch.ones(1)})
    with pytest.raises(CheckpointMismatchError, match='distiller.connectors'):
        load_state_dict(model, extra)
    # a checkpoint without teacher weights loads (the teacher has its own)
    no_teacher = {
        k: v + 1.0 if v.is_floating_point() else v
        for k, v in state.items() if not k.startswith('teacher.')
    }
    teacher_before = snapshot(model.teacher)
    load_state_dict(model, no_teacher)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in no_teacher.items())
    assert all(
        torch.equal(model.teacher.state_dict()[k], v)
        for k, v in teacher_before.items())
    model.load_state_dict(state)  # torch's own loader takes it too
    assert torch.equal(model.state_dict()['student.decode_head.conv_seg.bias'],
                       state['student.decode_head.conv_seg.bias'])


def test_loss_with_gradients_refuses_a_wrapper_that_bypasses_train_step():
    """A plain DDP wrapper trains through forward(mode='loss'), which would
    skip the non-finite guard and the monitor: refused, naming the fix;
    under no_grad the terms are there to evaluate."""
    model = MODELS.build(distill_model())
    data = model.data_preprocessor(fake_batch(), True)
    with pytest.raises(
            RuntimeError, match='MMSeparateDistributedDataParallel'):
        model(**data, mode='loss')
    with torch.no_grad():
        losses = model(**data, mode='loss')
    assert {'decode.loss_ce', 'loss_kd'} <= set(losses)


def test_gradient_accumulation_skips_the_students_sync(monkeypatch):
    """With accumulative_counts > 1 the (DDP-wrapped) student's no_sync is
    entered on the micro-steps that do not update, as mmengine does for a
    plain model."""
    import contextlib
    model = MODELS.build(distill_model())
    entered = []

    @contextlib.contextmanager
    def no_sync():
        entered.append(True)
        yield

    monkeypatch.setattr(model.student, 'no_sync', no_sync, raising=False)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = OptimWrapper(
        torch.optim.SGD(params, lr=0.01), accumulative_counts=2)
    optim.initialize_count_status(model, 0, 4)
    for _ in range(4):
        model.train_step(fake_batch(), optim)
    assert len(entered) == 2  # micro-steps 1 and 3 of 4
