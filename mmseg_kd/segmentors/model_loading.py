# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Turning a teacher/student entry of a distillation config into an mmseg
model config."""
import copy
import os.path as osp
from typing import Tuple

from mmengine.config import Config, ConfigDict

_ENTRY_KEYS = {'config', 'model', 'checkpoint', 'overrides', 'precision'}


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
    return cfg.model.to_dict() if isinstance(cfg.model, ConfigDict) else dict(
        cfg.model)


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
        # mmengine's own merge (nested dicts, _delete_=True)
        merged = Config(dict(model=model))
        merged.merge_from_dict(dict(model=copy.deepcopy(dict(overrides))))
        model = merged.model.to_dict()
    options = dict(
        checkpoint=entry.get('checkpoint'), precision=entry.get('precision'))
    # mmseg models read their configs as attributes (test_cfg.mode, ...)
    return ConfigDict(model), options
