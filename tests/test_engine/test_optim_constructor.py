# Copyright (c) mmseg_kd contributors. All rights reserved.
import pytest
from mmengine.optim import OptimWrapperDict, build_optim_wrapper

from ..conftest import build_mmseg, distill_model, tiny_segmentor

WITH_CONNECTOR = dict(
    student_tensors=dict(feat='backbone.layer4'),
    teacher_tensors=dict(feat='backbone.layer4'),
    connectors=dict(feat=dict(type='ChannelConnector')),
    losses=dict(
        loss_cwd=dict(
            type='ChannelWiseDivergence', student='feat', teacher='feat')))


def optimised_ids(wrapper):
    return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}


def test_single_optimizer_covers_student_and_connectors_only(mmseg_scope):
    model = build_mmseg(distill_model(**WITH_CONNECTOR))
    wrapper = build_optim_wrapper(
        model,
        dict(
            constructor='DistillationOptimWrapperConstructor',
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
            paramwise_cfg=dict(custom_keys={'decode_head': dict(
                lr_mult=10.)})))
    ids = optimised_ids(wrapper)
    assert ids == {id(p)
                   for p in model.student.parameters()
                   } | {id(p)
                        for p in model.distiller.parameters()}
    assert not ids & {id(p) for p in model.teacher.parameters()}
    head = {id(p) for p in model.student.decode_head.parameters()}
    lrs = {
        g['lr']
        for g in wrapper.optimizer.param_groups if id(g['params'][0]) in head
    }
    assert lrs == {1.0}, 'paramwise custom keys must reach the student'


def test_several_optimizers_and_errors(mmseg_scope):
    model = build_mmseg(distill_model(**WITH_CONNECTOR))
    wrappers = build_optim_wrapper(
        model,
        dict(
            constructor='DistillationOptimWrapperConstructor',
            student=dict(
                type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    assert isinstance(wrappers, OptimWrapperDict)
    assert list(wrappers.keys()) == ['student']
    with pytest.raises(KeyError, match='unknown'):
        build_optim_wrapper(
            model,
            dict(
                constructor='DistillationOptimWrapperConstructor',
                teacher=dict(
                    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(KeyError, match='no trainable discriminator'):
        build_optim_wrapper(
            model,
            dict(
                constructor='DistillationOptimWrapperConstructor',
                student=dict(
                    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
                discriminator=dict(
                    type='OptimWrapper', optimizer=dict(type='Adam',
                                                        lr=1e-4))))
    with pytest.raises(TypeError, match='plain model'):
        build_optim_wrapper(
            build_mmseg(tiny_segmentor()),
            dict(
                constructor='DistillationOptimWrapperConstructor',
                type='OptimWrapper',
                optimizer=dict(type='SGD', lr=0.1)))
