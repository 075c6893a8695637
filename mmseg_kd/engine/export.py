# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Student-only checkpoints and configs that stock mmseg tools accept."""
import copy
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch
from mmengine.config import Config

from ..utils import load_checkpoint_file, state_dict_of, strip_wrapper_prefix
from ..version import __version__

STUDENT_PREFIX = 'student.'


def student_state_dict(
        state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Keys of a DistillationSegmentor state dict that belong to the student,
    with the ``student.`` prefix removed (plain mmseg keys). Teacher,
    connectors, projection heads and discriminators are left out."""
    state = strip_wrapper_prefix(state)
    out = OrderedDict((k[len(STUDENT_PREFIX):], v) for k, v in state.items()
                      if k.startswith(STUDENT_PREFIX))
    if not out:
        raise KeyError('No student.* keys in this state dict: it is not a '
                       'DistillationSegmentor checkpoint.')
    return out


def save_student(state: Dict[str, torch.Tensor],
                 out_file: str,
                 meta: Optional[dict] = None) -> str:
    """Write ``{'meta': ..., 'state_dict': student weights}`` to
    ``out_file`` (weights moved to CPU). The file holds only tensors and
    plain Python values, so ``torch.load(weights_only=True)`` (the default
    since torch 2.6) and therefore stock mmseg tools read it anywhere."""
    meta = dict(meta or {})
    meta.setdefault('mmseg_kd_version', __version__)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    weights = OrderedDict(
        (k, v.detach().cpu()) for k, v in student_state_dict(state).items())
    torch.save(dict(meta=meta, state_dict=weights), out_file)
    return out_file


def export_student(checkpoint: str, out_file: str) -> str:
    """Turn a distillation training checkpoint into a student checkpoint."""
    ckpt = load_checkpoint_file(checkpoint, 'distillation', map_location='cpu')
    state = state_dict_of(ckpt, checkpoint, 'distillation')
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    meta = dict(meta) if isinstance(meta, dict) else {}
    keep = {
        k: meta[k]
        for k in ('dataset_meta', 'iter', 'epoch', 'seed', 'experiment_name')
        if k in meta
    }
    keep['exported_from'] = osp.abspath(checkpoint)
    return save_student(state, out_file, keep)


def student_config(cfg: Config, student_model_cfg: dict) -> Config:
    """A config for the student alone, derived from a distillation config:
    the model is the student, and distillation-only settings (the optimizer
    constructor's ``student`` entry, the separate DDP wrapper, the export
    hook, the resumable checkpoint hook) are turned back into their plain
    mmseg forms: stock mmseg tools run it exactly as their own configs."""
    out = copy.deepcopy(cfg)
    out.model = student_model_cfg
    ow = out.get('optim_wrapper')
    if isinstance(ow, dict) and ow.get(
            'constructor') == 'DistillationOptimWrapperConstructor':
        ow = copy.deepcopy(ow)
        ow.pop('constructor')
        out.optim_wrapper = ow.get('student', ow)
    sched = out.get('param_scheduler')
    if isinstance(sched, dict) and 'type' not in sched and 'student' in sched:
        out.param_scheduler = sched['student']
    out.pop('model_wrapper_cfg', None)
    out.pop('distill', None)  # the configs' helper for model.distill
    checkpoint = (out.get('default_hooks') or {}).get('checkpoint')
    if checkpoint and checkpoint.get('type') == 'ResumableCheckpointHook':
        checkpoint['type'] = 'CheckpointHook'  # stock mmseg's own
    hooks = out.get('custom_hooks') or []
    out.custom_hooks = [
        h for h in hooks
        if h.get('type') not in ('ExportStudentHook', 'BatchSizeCheckHook',
                                 'LogFirstIterationHook')
    ]
    return out


_ENV_PLACEHOLDER = re.compile(
    r'\{\{[\'"]?\s*\$(\w+)\s*:\s*(\S*?)\s*[\'"]?\}\}')


def dump_student_config(cfg: Config, student_model_cfg: dict,
                        path: str) -> str:
    """Write :func:`student_config` to ``path``, with the environment
    placeholders of the distillation config (e.g. ``data_root =
    '{{$CAMVID_ROOT:data/camvid}}'``) put back where their values were
    expanded, so that the file works on another machine as the original
    does."""
    text = student_config(cfg, student_model_cfg).pretty_text
    defaults = dict(_ENV_PLACEHOLDER.findall(cfg.text or ''))
    for var, value in cfg.env_variables.items():
        if var in defaults and len(value) > 1 and ('/' in value
                                                   or os.sep in value):
            placeholder = '{{$%s:%s}}' % (var, defaults[var])
            text = text.replace(f"'{value}", f"'{placeholder}")
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return path
