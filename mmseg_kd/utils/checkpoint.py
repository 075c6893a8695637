# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Loading mmengine checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine
0.10.x calls ``torch.load`` without the argument, and its training
checkpoints hold the message hub, whose ``HistoryBuffer`` pickles
``getattr``; the safe loader refuses them, so ``--resume`` and
``load_from`` fail with an UnpicklingError (open-mmlab/mmengine#1655).

:func:`load_local_checkpoint` loads safely first and only falls back to a
full load when every global the file names is one of those an mmengine
training checkpoint carries; anything else is refused with the list of
globals. A full load can run code from the file, as every torch.load did
before torch 2.6: only resume from checkpoints you trust (your own runs).
It is registered as mmengine's loader for local paths (mmengine's
``CheckpointLoader.register_scheme``), so the runner's resume and
``load_from`` use it.
"""
import os.path as osp
import pickle
import zipfile

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

#: globals of an mmengine training checkpoint (message hub and numpy values)
MMENGINE_CHECKPOINT_GLOBALS = frozenset({
    'builtins.getattr',
    'mmengine.logging.history_buffer.HistoryBuffer',
    'numpy.dtype',
    'numpy.ndarray',
    'numpy.core.multiarray._reconstruct',
    'numpy.core.multiarray.scalar',
    'numpy._core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
})


def load_local_checkpoint(filename: str, map_location=None,
                          mmap: bool = False):
    """``torch.load`` a local checkpoint, safely when possible (see the
    module docstring). ``mmap``: map the tensors' storage instead of reading
    it (cheap when only the keys are needed; ignored for files in torch's
    legacy format, which cannot be mapped)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    mmap = mmap and zipfile.is_zipfile(filename)
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True,
            mmap=mmap)
    except pickle.UnpicklingError:
        unsafe = set(
            torch.serialization.get_unsafe_globals_in_checkpoint(filename))
    extra = {
        g
        for g in unsafe if g not in MMENGINE_CHECKPOINT_GLOBALS
        and not g.startswith('numpy.dtypes.')
    }
    if extra:
        raise pickle.UnpicklingError(
            f'{filename} names globals outside an mmengine checkpoint: '
            f'{sorted(extra)}. If you trust the file, load it with '
            'torch.load(..., weights_only=False) and save its state_dict.')
    print_log(
        f'Loading {filename} in full: it is an mmengine training checkpoint '
        "(message hub), which torch's weights_only loader refuses. Only load"
        ' checkpoints you trust.',
        logger='current',
        level=10)
    return torch.load(filename, map_location=map_location,
                      weights_only=False, mmap=mmap)


def register_checkpoint_loader() -> None:
    """Make :func:`load_local_checkpoint` mmengine's loader of local paths."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
