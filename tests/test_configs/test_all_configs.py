# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Every shipped config under distillation_configs/ builds and probes,
without data or weights.

One build per config: a distillation config's DistillationSegmentor with
``teacher.checkpoint=None`` and a small ``distill.probe_size`` (its
constructor resolves every recorded module path, probes the tensors on a
dummy batch, sizes the connectors and checks every loss pairing); a plain
config's EncoderDecoder, run once on a small batch. Nothing is initialised
(``init_weights`` is not called, so no pretrained weights are fetched).
The rest of each config is parsed and exercised without data: optimizer
(mmengine's ``build_optim_wrapper`` on the built model, dict forms through
their constructor), parameter schedulers, data pipelines, dataset, metric,
hook and wrapper types. Every distillation config is also probed
(tools/probe.py's library, on a random batch), and each loss term the probe
reports is checked against the loss modules called directly.
"""
import functools
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope
from mmseg.registry import (DATASETS, HOOKS, METRICS, MODEL_WRAPPERS, MODELS,
                            PARAM_SCHEDULERS, TRANSFORMS, VISUALIZERS)

from ..conftest import REPO

CONFIG_ROOT = osp.join(REPO, 'distillation_configs')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
    if osp.basename(osp.dirname(p)) != '_base_')
PROBE = (64, 64)
SECTIONS = ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
            'val_evaluator', 'test_evaluator', 'train_cfg', 'val_cfg',
            'test_cfg', 'optim_wrapper', 'param_scheduler', 'default_hooks')


@pytest.fixture(scope='module', autouse=True)
def fast_builds():
    """One thread (probing tiny batches; many threads only contend on a
    busy machine) and mmengine's metafile reads cached: every ``mmseg::``
    lookup otherwise re-reads all of mmseg's metafiles."""
    import mmengine.config.utils as cfg_utils
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cfg_utils, 'load',
                   functools.lru_cache(maxsize=None)(cfg_utils.load))
        yield
    torch.set_num_threads(threads)


def _check_registered(registry, cfg, what):
    assert registry.get(cfg['type']) is not None, \
        f"{what}: {cfg['type']!r} is not registered in {registry.name}"


def _datasets(cfg):
    """The dataset dicts of a dataloader's dataset, wrappers included."""
    yield cfg
    for child in cfg.get('datasets', []):
        yield from _datasets(child)
    if isinstance(cfg.get('dataset'), dict):
        yield from _datasets(cfg['dataset'])


def _check_data(cfg):
    from mmcv.transforms import Compose
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for dataset in _datasets(cfg[loader].dataset):
            _check_registered(DATASETS, dataset, loader)
            if 'pipeline' in dataset:
                for step in dataset.pipeline:
                    _check_registered(TRANSFORMS, step, loader)
                Compose(dataset.pipeline)  # catches wrong arguments
    for evaluator in ('val_evaluator', 'test_evaluator'):
        metrics = cfg[evaluator]
        for metric in metrics if isinstance(metrics, list) else [metrics]:
            _check_registered(METRICS, metric, evaluator)
    for name, hook in cfg.default_hooks.items():
        _check_registered(HOOKS, hook, f'default_hooks.{name}')
    for hook in cfg.get('custom_hooks', []):
        _check_registered(HOOKS, hook, 'custom_hooks')
    _check_registered(VISUALIZERS, cfg.visualizer, 'visualizer')
    if cfg.get('model_wrapper_cfg'):
        _check_registered(MODEL_WRAPPERS, cfg.model_wrapper_cfg,
                          'model_wrapper_cfg')


def _check_schedule(cfg, optim_wrapper):
    """Build the parameter schedulers on their optimizers; the last one
    ends with the training loop."""
    schedulers = cfg.param_scheduler
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        assert isinstance(optim_wrapper, OptimWrapperDict)
        groups = {k: (v, optim_wrapper[k]) for k, v in schedulers.items()}
    else:
        groups = {'': (schedulers, optim_wrapper)}
    for key, (group, wrapper) in groups.items():
        group = group if isinstance(group, list) else [group]
        for scheduler in group:
            PARAM_SCHEDULERS.build(
                scheduler, default_args=dict(optimizer=wrapper))
        assert group[-1].end == cfg.train_cfg.max_iters, (
            f'param_scheduler {key}: the last scheduler ends at '
            f'{group[-1].end}, training at {cfg.train_cfg.max_iters}')


def _check_distillation(cfg, model):
    distill = cfg.model.distill
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    distiller = model.distiller_module
    assert set(distiller.losses) == set(distill.losses)
    assert set(model.student_recorder.specs) == set(distill.student_tensors)
    assert set(model.teacher.recorder.specs) == set(distill.teacher_tensors)
    # connected student tensors have the teacher's channels
    for name, target in distiller.connector_targets.items():
        assert distiller.student_shapes[name][1] == \
            distiller.teacher_shapes[target][1], name
    if model.discriminator is not None:
        assert isinstance(cfg.optim_wrapper, dict) and \
            'discriminator' in cfg.optim_wrapper


def _direct_terms(model, batch):
    """Every weighted distillation term of one training forward, computed
    from the recorded tensors by calling each loss module directly (not
    through Distiller.forward), at iteration 0."""
    from mmseg_kd.distill import resize_labels
    distiller = model.distiller_module
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    teacher = model.teacher(inputs, data['teacher_inputs'])
    _, student = model.student_recorder.run(
        lambda: model.student(inputs, samples, mode='loss'))
    student, teacher = distiller.connect(student, teacher)
    full = torch.stack([s.gt_sem_seg.data for s in samples])[:, 0].long()

    def pick(tensors, names):
        return tensors[names] if isinstance(
            names, str) else [tensors[n] for n in names]

    terms = {}
    for key, loss in distiller.losses.items():
        route = distiller.routes[key]
        s, t = pick(student, route.student), pick(teacher, route.teacher)
        first = s if isinstance(s, torch.Tensor) else s[0]
        labels = None
        if loss.uses_labels:
            labels = full if loss.full_resolution_labels else \
                resize_labels(full, first.shape[-2:])
        extras = {k: student[v] for k, v in route.extras.items()}
        if loss.adversarial:
            extras['critic'] = model.discriminator.critics[key]
        value = loss(s, t, labels, 0, **extras)
        factor = route.schedule(0) if route.schedule else 1.0
        if isinstance(value, dict):
            terms.update({
                f'{key}_{k}': float(v) * factor
                for k, v in value.items()
            })
        else:
            terms[key] = float(value) * factor
    return terms


def _check_probe(cfg, model):
    """The probe's table on a random batch: one row per term, each equal
    to the direct computation (same state, same random numbers)."""
    import copy

    from mmseg_kd.apis import probe as probe_lib
    probe_lib.pad_to_probe_size(model, PROBE)
    batch, _ = probe_lib.make_batch(cfg, model, 'random', PROBE)
    state = copy.deepcopy(model.state_dict())
    torch.manual_seed(0)
    model.train()
    with torch.no_grad():
        expected = _direct_terms(model, batch)
    model.load_state_dict(state)
    torch.manual_seed(0)
    report = probe_lib.probe(model, batch, iteration=0)
    got = {row.name: row.value for row in report.losses}
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
    assert report.task_total > 0
    text = probe_lib.format_report(report)
    assert all(name in text for name in got)


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    missing = [s for s in SECTIONS if s not in cfg]
    assert not missing, f'missing sections {missing}'
    is_distill = cfg.model.type == 'DistillationSegmentor'
    if is_distill:
        cfg.model.teacher.checkpoint = None
        cfg.model.distill.probe_size = PROBE
    with DefaultScope.overwrite_default_scope('mmseg'):
        _check_data(cfg)
        model = MODELS.build(cfg.model)
        if is_distill:
            _check_distillation(cfg, model)
            _check_probe(cfg, model)
        else:
            assert cfg.model.type == 'EncoderDecoder'
            model = revert_sync_batchnorm(model).eval()
            with torch.no_grad():
                out = model(torch.zeros((1, 3) + PROBE), None, mode='tensor')
            assert out.shape[1] == model.decode_head.num_classes
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        _check_schedule(cfg, optim_wrapper)
