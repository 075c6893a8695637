# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The keys of a DistillationSegmentor's checkpoints: the same under DDP as
in one process, and loaded strictly."""
from mmengine.model import is_model_wrapper
from torch import nn

from ..utils import CheckpointMismatchError, mismatch_report

#: parts whose keys a distillation checkpoint must match exactly
_STRICT_PARTS = ('student.', 'distiller.', 'discriminator.')


def plain_keys(module: nn.Module, state: dict, prefix: str,
               local_metadata: dict) -> None:
    """State-dict hook: keys without the ``.module.`` of DDP wrappers around
    the parts (``MMSeparateDistributedDataParallel`` wraps student,
    distiller and discriminator each), so a checkpoint written under DDP
    holds the same keys as a single-process one."""
    wrapped = [
        f'{prefix}{name}.module.' for name, child in module.named_children()
        if is_model_wrapper(child)
    ]
    for key in list(state) if wrapped else ():
        for head in wrapped:
            if key.startswith(head):
                state[head[:-len('module.')] + key[len(head):]] = \
                    state.pop(key)
                break


def check_distillation_keys(module: nn.Module, state_dict: dict, prefix: str,
                            *args):
    """Load pre-hook: a distillation checkpoint must fit the student, the
    distiller and the discriminator exactly (and the teacher, when it holds
    teacher weights). mmengine loads non-strictly and only warns; a
    mismatch here would resume or test random weights, so it is an error
    that names the keys."""
    own = module.state_dict()
    theirs = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }
    parts = _STRICT_PARTS + (
        ('teacher.', ) if any(k.startswith('teacher.') for k in theirs) else
        ())
    report = mismatch_report(
        {
            k: v
            for k, v in theirs.items() if k.startswith(parts)
        }, {
            k: v
            for k, v in own.items() if k.startswith(parts)
        }, 'The checkpoint', 'distillation')
    if report:
        raise CheckpointMismatchError(
            report + '\n  A distillation checkpoint is loaded strictly: it '
            'must come from the same distillation config (same student, '
            'connectors, losses and discriminator). To start a student '
            'from an earlier run, export it and give student=dict(..., '
            'checkpoint=...).')
