# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Turning a teacher/student entry of a distillation config into an mmseg
model config, and loading a teacher checkpoint strictly."""
import copy
import os.path as osp
from collections import Counter
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

_ENTRY_KEYS = {'config', 'model', 'checkpoint', 'overrides', 'precision'}


class CheckpointMismatchError(RuntimeError):
    """The teacher checkpoint does not fit the teacher model."""


def _load_config_model(path: str, role: str) -> dict:
    if '::' in path:  # e.g. 'mmseg::pspnet/pspnet_r18-d8_....py'
        from mmengine.hub import get_config
        try:
            cfg = get_config(path)
        except Exception as err:  # noqa: BLE001 - re-raised with context
            raise FileNotFoundError(
                f'Cannot load the {role} config {path!r} ({err}). Paths '
                "with 'mmseg::' name a config shipped inside mmsegmentation,"
                " e.g. 'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-"
                "512x1024.py'.") from err
    else:
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'The {role} config {path!r} does not exist (relative paths '
                "are taken from the working directory). Use 'mmseg::<path>' "
                "for mmsegmentation's own configs.")
        cfg = Config.fromfile(path)
    if 'model' not in cfg:
        raise KeyError(f'The {role} config {path!r} has no `model` entry.')
    return cfg.model.to_dict() if isinstance(cfg.model,
                                             ConfigDict) else dict(cfg.model)


def resolve_model_entry(entry: dict, role: str) -> Tuple[dict, dict]:
    """Split a ``teacher=``/``student=`` entry into a model config and options.

    An entry is either an inline model dict (it has ``type``) or a dict with
    exactly one of ``config`` (an mmseg config path, ``mmseg::`` allowed) or
    ``model`` (an inline model dict), and optionally ``checkpoint``,
    ``overrides`` (merged into the model config the way ``_base_`` merging
    works, ``_delete_=True`` included) and, for the teacher, ``precision``.

    Returns:
        tuple: (model config as a ``ConfigDict``, options dict with
        ``checkpoint`` and ``precision``).
    """
    if not isinstance(entry, dict):
        raise TypeError(
            f'`{role}` must be a dict, got {type(entry).__name__}.')
    entry = dict(entry)
    if 'type' in entry:
        entry = dict(model=entry)
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise KeyError(f'`{role}` has unknown keys {sorted(unknown)}; '
                       f'allowed: {sorted(_ENTRY_KEYS)}.')
    if ('config' in entry) == ('model' in entry):
        raise KeyError(
            f"`{role}` needs exactly one of `config` (a config path, e.g. "
            "'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py')"
            ' or `model` (an inline model dict).')
    if role == 'student' and entry.get('precision') is not None:
        raise KeyError('`precision` is a teacher option; the student follows '
                       'the optim wrapper (use AmpOptimWrapper for AMP).')
    if 'config' in entry:
        model = _load_config_model(entry['config'], role)
    else:
        model = copy.deepcopy(dict(entry['model']))
        if isinstance(model, ConfigDict):
            model = model.to_dict()
    overrides = entry.get('overrides')
    if overrides:
        merged = Config._merge_a_into_b(
            copy.deepcopy(dict(overrides)), ConfigDict(model))
        model = merged.to_dict() if isinstance(merged,
                                               ConfigDict) else dict(merged)
    options = dict(
        checkpoint=entry.get('checkpoint'), precision=entry.get('precision'))
    # mmseg models read their configs as attributes (test_cfg.mode, ...)
    return ConfigDict(model), options


def _group(keys: List[str], limit: int = 8) -> str:
    """'a.b.c', 'a.b.d', 'e.f' -> 'a.b.* (2), e.f' (short, readable)."""
    prefixes = Counter('.'.join(k.split('.')[:2]) for k in keys)
    parts = [f'{p}.* ({n} keys)' if n > 1 else next(
        k for k in keys if k.startswith(p)) for p, n in prefixes.most_common()]
    more = f', ... ({len(parts) - limit} more groups)' if len(
        parts) > limit else ''
    return ', '.join(parts[:limit]) + more


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read a checkpoint file on the CPU and return its model state dict
    (``state_dict`` entry or the whole dict; a ``module.`` prefix left by
    (Distributed)DataParallel is removed)."""
    if not path.startswith(('http://', 'https://')) and not osp.isfile(path):
        raise FileNotFoundError(f'Teacher checkpoint {path!r} not found.')
    ckpt = _load_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict):
        raise TypeError(f'{path!r} does not hold a state dict.')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def load_checkpoint_strict(model: nn.Module, path: str,
                           role: str = 'teacher') -> None:
    """Load ``path`` into ``model`` on the CPU, strictly.

    Raises:
        CheckpointMismatchError: listing missing keys, unexpected keys and
            shape mismatches, grouped by module, with the usual fixes.
    """
    state = read_state_dict(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f'{k}: checkpoint {tuple(state[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in own
        if k in state and hasattr(state[k], 'shape')
        and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if not (missing or unexpected or mismatched):
        model.load_state_dict(state, strict=True)
        return
    lines = [f'The {role} checkpoint {path!r} does not match the {role} '
             'model:']
    if missing:
        lines.append(f'  missing in checkpoint ({len(missing)}): '
                     f'{_group(missing)}')
    if unexpected:
        lines.append(f'  unexpected in checkpoint ({len(unexpected)}): '
                     f'{_group(unexpected)}')
    if mismatched:
        lines.append(f'  shape mismatch ({len(mismatched)}): ' +
                     '; '.join(mismatched[:5]) +
                     (' ...' if len(mismatched) > 5 else ''))
    hints = []
    if any(k.startswith(('student.', 'teacher.')) for k in state):
        hints.append('this is a distillation checkpoint: export its student '
                     'with tools/export_student.py and use that file')
    if any(k.startswith('auxiliary_head.') for k in missing):
        hints.append('the checkpoint has no auxiliary head: drop it with '
                     f'{role}=dict(..., overrides=dict(auxiliary_head=None))')
    if mismatched and any('conv_seg' in m for m in mismatched):
        hints.append('the number of classes differs: the checkpoint must be '
                     f'trained on the same dataset as the {role} config')
    if not hints:
        hints.append(f'check that the checkpoint was trained with this {role}'
                     ' config (same backbone depth, heads and classes)')
    lines.append('  Fix: ' + '; '.join(hints) + '.')
    raise CheckpointMismatchError('\n'.join(lines))
