# Copyright (c) mmseg_kd contributors. All rights reserved.
"""What the probe runs on: the config, its model built as training builds
it, and one batch (the dataloader's first, or random)."""
import copy
import logging
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger
from mmseg.models import SegDataPreProcessor
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import nn

from ...segmentors.model_loading import resolve_model_entry
from ...utils import mmseg_scope
from .formatting import error_message


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a distillation config and apply ``--cfg-options`` overrides.

    Raises:
        ValueError: When the config's model is not a DistillationSegmentor.
    """
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('model', {}).get('type') != 'DistillationSegmentor':
        raise ValueError(
            f'{path} is not a distillation config: its model type is '
            f"{cfg.get('model', {}).get('type')!r}, not "
            "'DistillationSegmentor'.")
    return cfg


def build_model(cfg: Config, device: str = 'cpu') -> nn.Module:
    """Build and initialise the config's DistillationSegmentor as training
    does (teacher checkpoint loaded, student ``init_weights``).

    Args:
        cfg (Config): A distillation config.
        device (str): Where to put the model.

    Returns:
        nn.Module: The model, on ``device``.
    """
    with mmseg_scope():
        model = MODELS.build(copy.deepcopy(cfg.model))
    logger = MMLogger.get_current_instance()
    level = logger.level
    # init_weights logs every parameter's initialisation at INFO level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    except Exception as err:  # noqa: BLE001 - re-raised with the fix
        raise RuntimeError(
            f'Initialising the student and connectors failed '
            f'({error_message(err)}). If it loads pretrained weights that '
            'are not available here, switch them off: '
            f'--cfg-options {_pretrained_off(cfg)}.') from err
    finally:
        logger.setLevel(level)
    return model.to(device)


def plain_entry(entry: Mapping[str, Any]) -> dict:
    """A ``teacher=``/``student=`` entry of a config (a ``ConfigDict``, or
    a dict) as a plain dict of plain values, the caller's own copy."""
    return ConfigDict(copy.deepcopy(dict(entry))).to_dict()


def teacher_entries(cfg: Config) -> Dict[str, Any]:
    """The teacher entries of a distillation config by name: ``teacher``
    for ``teacher=``, each name of ``teachers=``."""
    model = cfg.model
    if model.get('teachers'):
        return dict(model.teachers)
    return dict(teacher=model.teacher)


def teacher_checkpoints(cfg: Config) -> Dict[str, Optional[str]]:
    """Teacher name ('' for the single ``teacher=``) -> its checkpoint."""
    entries = teacher_entries(cfg)
    if list(entries) == ['teacher'] and not cfg.model.get('teachers'):
        return {'': entries['teacher'].get('checkpoint')}
    return {name: e.get('checkpoint') for name, e in entries.items()}


def _pretrained_off(cfg: Config) -> str:
    """The --cfg-options that switch off the student's pretrained weights,
    wherever its config asks for them (``pretrained`` or the backbone's
    ``init_cfg``, as the SegFormer and Swin configs do)."""
    student, _ = resolve_model_entry(plain_entry(cfg.model.student), 'student')
    options = []
    if student.get('pretrained'):
        options.append('model.student.overrides.pretrained=None')
    if (student.get('backbone') or {}).get('init_cfg'):
        options.append('model.student.overrides.backbone.init_cfg=None')
    return ' '.join(options) or 'model.student.overrides.pretrained=None'


def _decode_head(model: EncoderDecoder) -> nn.Module:
    """The (last) decode head of an mmseg segmentor (a cascade's last)."""
    head = model.decode_head
    return head[-1] if isinstance(head, nn.ModuleList) else head


def random_batch(size: Sequence[int],
                 batch_size: int = 2,
                 num_classes: int = 2,
                 seed: int = 0) -> dict:
    """A raw dataloader-like batch of random uint8 images and labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    size = tuple(int(s) for s in size)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(
                0, 256, (3, ) + size, generator=gen, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, ) + size, generator=gen))
        sample.set_metainfo(
            dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def pad_to_probe_size(model: nn.Module, size: Sequence[int]) -> None:
    """Make the model's mmseg preprocessors (student and teachers) that pad
    to a fixed size (the config's crop) pad to ``size`` instead, so that a
    random batch of that size is probed at that size.

    Args:
        model (nn.Module): A built DistillationSegmentor.
        size (Sequence[int]): (H, W).
    """
    pre = model.data_preprocessor
    for part in [pre.student, *pre.teachers.values()]:
        if isinstance(part, SegDataPreProcessor) and part.size is not None:
            part.size = tuple(size)


def make_batch(cfg: Config,
               model: nn.Module,
               data: str = 'auto',
               input_size: Optional[Sequence[int]] = None,
               batch_size: int = 2,
               seed: int = 0) -> Tuple[dict, str]:
    """One raw batch for :func:`probe`.

    Args:
        cfg (Config): The distillation config.
        model (nn.Module): Its built model (for the random batch's classes
            and size; not changed).
        data (str): ``'data'``: the first batch of ``cfg.train_dataloader``
            (errors propagate); ``'random'``: random images and labels;
            ``'auto'``: the dataloader, falling back to random on error.
        input_size (Sequence[int], optional): (H, W) of the random batch
            (to probe it at that size rather than padded to the training
            crop, see :func:`pad_to_probe_size`). Default: the student
            preprocessor's ``size`` (the training crop), else
            ``distill.probe_size``, else 128x128.
        batch_size (int): Images in a random batch. Defaults to 2.
        seed (int): Seed of the random batch and the dataloader.

    Returns:
        tuple: The batch and a sentence saying where it comes from.
    """
    if data not in ('auto', 'data', 'random'):
        raise ValueError(f"data must be 'auto', 'data' or 'random', got "
                         f'{data!r}.')
    note = ''
    if data in ('auto', 'data'):
        try:
            return _dataloader_batch(cfg, seed), \
                'first batch of train_dataloader'
        except Exception as err:  # noqa: BLE001 - fallback or re-raise
            if data == 'data':
                raise
            note = f'; train_dataloader unavailable ({error_message(err)})'
    if input_size is not None:
        size = tuple(input_size)
    else:
        student_pre = model.data_preprocessor.student
        crop = student_pre.size if isinstance(student_pre,
                                              SegDataPreProcessor) else None
        size = crop or tuple(cfg.model.distill.get('probe_size', (128, 128)))
    num_classes = _decode_head(model.student_model).num_classes
    batch = random_batch(size, batch_size, num_classes, seed)
    return batch, (f'random batch of {batch_size} images at '
                   f'{size[0]}x{size[1]}{note}')


def _dataloader_batch(cfg: Config, seed: int) -> dict:
    from mmengine.runner import Runner
    if not cfg.get('train_dataloader'):
        raise KeyError('The config has no train_dataloader; probe a random '
                       'batch instead (--input-size H W).')
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg['num_workers'] = 0
    loader_cfg['persistent_workers'] = False
    with mmseg_scope():
        loader = Runner.build_dataloader(loader_cfg, seed=seed)
        return next(iter(loader))
