# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Loading checkpoint files, safely, and loading their weights strictly.

Every checkpoint the project reads (teacher and student ``checkpoint=``,
``load_from``, ``--resume``, ``tools/test.py``, ``tools/export_student.py``)
goes through :func:`load_checkpoint_file`:

* ``torch.load(weights_only=True)``: torch's restricted unpickler, which
  builds tensors, containers and plain values and calls nothing else;
* inside ``torch.serialization.safe_globals(SAFE_GLOBALS)``: exactly what
  mmengine's training checkpoints add (the message hub's ``HistoryBuffer``
  and the numpy arrays, scalars and dtypes it holds). ``HistoryBuffer``
  pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``;
  ``builtins.getattr`` is therefore mapped to :func:`history_statistic`,
  which answers those four lookups and refuses every other one (a general
  ``getattr`` lets a pickle walk from any allowed class to ``eval``);
* a file that needs anything else is refused with
  :class:`UnsafeCheckpointError`, naming the file, its role and the
  globals it asks for. There is no fallback. A file you made yourself and
  trust can be opted in explicitly, by path, with
  ``MMSEG_KD_TRUSTED_CHECKPOINTS=PATH[:PATH...]`` (or the tools'
  ``--trust-checkpoint PATH``): that file may then call exactly the globals
  it names, still through the weights-only unpickler. Nothing in a config
  can do it, and no file is ever unpickled in full.

Importing ``mmseg_kd`` changes nothing in how mmengine or stock mmseg tools
load checkpoints. ``tools/train.py`` and ``tools/test.py`` run the runner
inside :func:`safe_checkpoint_loading`, which makes this loader mmengine's
loader of local and http(s) paths for that block only.
"""
import contextlib
import hashlib
import importlib
import os
import os.path as osp
import pickle
import urllib.parse
import zipfile
from collections import Counter
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint
from torch import nn

#: Environment variable listing trusted checkpoint paths (os.pathsep-
#: separated), which may call the globals they name.
TRUST_ENV = 'MMSEG_KD_TRUSTED_CHECKPOINTS'

#: The statistics methods a pickled ``HistoryBuffer`` refers to.
_HISTORY_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used (base of the errors below)."""


class NotACheckpointError(CheckpointError):
    """The file is truncated, garbage, or not a torch checkpoint."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The file needs globals outside :data:`SAFE_GLOBALS`."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's weights do not fit the model."""


def history_statistic(owner: type, name: str) -> Callable:
    """``getattr`` as a checkpoint may use it: only
    ``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean')``."""
    if owner is HistoryBuffer and name in _HISTORY_STATISTICS:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(owner, "__name__", type(owner).__name__)}, '
        f'{name!r}) is not something an mmengine checkpoint needs; refused.')


def _numpy_globals() -> List[tuple]:
    """numpy's array/scalar reconstructors under both module names (numpy 1
    pickles ``numpy.core``, numpy 2 ``numpy._core``) and its dtype classes
    (``numpy.dtypes.Float64DType``, ...)."""
    from numpy.core import multiarray  # numpy 2: an alias of numpy._core
    out = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        out += [(multiarray._reconstruct, f'{module}._reconstruct'),
                (multiarray.scalar, f'{module}.scalar')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return out


#: What an mmengine training checkpoint holds beyond torch's defaults.
SAFE_GLOBALS = [HistoryBuffer,
                (history_statistic, 'builtins.getattr')] + _numpy_globals()


def trusted_paths() -> List[str]:
    """The real paths listed in :data:`TRUST_ENV`."""
    raw = os.environ.get(TRUST_ENV, '')
    return [osp.realpath(p) for p in raw.split(os.pathsep) if p]


def trust_checkpoints(paths: Sequence[str]) -> None:
    """Add ``paths`` to :data:`TRUST_ENV` of this process (and of the
    processes it starts): the tools' ``--trust-checkpoint``."""
    current = [p for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p]
    os.environ[TRUST_ENV] = os.pathsep.join(current +
                                            [osp.realpath(p) for p in paths])


def download_path(url: str) -> str:
    """Where :func:`load_checkpoint_file` keeps the download of ``url``:
    the file's name in a folder of torch's hub cache named by a hash of the
    whole URL, so that two URLs ending in the same file name (``v1/`` and
    ``v2/model.pth``, or the same name on two hosts) never share a file."""
    name = osp.basename(urllib.parse.urlsplit(url).path) or 'checkpoint.pth'
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return osp.join(torch.hub.get_dir(), 'checkpoints', 'mmseg_kd', digest,
                    name)


def _download(url: str) -> str:
    """Download ``url`` once (:func:`download_path`; torch writes it under
    a temporary name and renames it when complete); return the local path,
    loaded like any local file afterwards."""
    path = download_path(url)
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        torch.hub.download_url_to_file(url, path, progress=True)
    return path


def _describe(path: str, role: str) -> str:
    return f'The {role} checkpoint {path!r}'


def load_checkpoint_file(path: str,
                         role: str = 'checkpoint',
                         map_location: Union[str, torch.device, Callable,
                                             Dict[str, str], None] = 'cpu',
                         mmap: bool = False) -> Any:
    """Read a checkpoint file without running code from it.

    Args:
        path (str): A local path or an http(s) URL (downloaded into torch's
            hub cache first).
        role (str): What the file is for (``'teacher'``, ``'student'``,
            ``'resume'``, ...), named in every error.
        map_location (str | torch.device | Callable | dict, optional): As
            for ``torch.load``. Defaults to ``'cpu'``.
        mmap (bool): Map the tensors' storage instead of reading it (cheap
            when only the keys are needed; ignored for legacy files).

    Returns:
        Any: The unpickled object (usually a dict).

    Raises:
        FileNotFoundError: No such file.
        NotACheckpointError: The file is not a torch checkpoint.
        UnsafeCheckpointError: The file needs globals outside
            :data:`SAFE_GLOBALS` (and is not trusted).
    """
    if path.startswith(('http://', 'https://')):
        path = _download(path)
    elif '://' in path:
        raise CheckpointError(
            f'{_describe(path, role)}: only local paths and http(s) URLs are'
            ' read; download the file and give its local path.')
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{_describe(path, role)} does not exist.')
    mmap = mmap and zipfile.is_zipfile(path)
    allowed = list(SAFE_GLOBALS)
    if osp.realpath(path) in trusted_paths():
        allowed += [(_import_global(name), name)
                    for name in _unsafe_globals(path) or []]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(
                path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:
        unsafe = _unsafe_globals(path)
        if unsafe is None:  # torch's message would suggest a full load
            raise NotACheckpointError(
                f'{_describe(path, role)} is not a checkpoint (truncated, '
                'corrupted or another kind of file): it does not unpickle as'
                ' one.') from None
        raise UnsafeCheckpointError(
            f'{_describe(path, role)} was refused: it asks for '
            f'{unsafe or "calls"} beyond what a model or an mmengine '
            'training checkpoint holds, and a file that can call such '
            'globals can run any code. If you made this file yourself and '
            f'trust it, opt it in explicitly: {TRUST_ENV}='
            f'{osp.realpath(path)} (or --trust-checkpoint PATH with the '
            'tools) allows exactly the globals it names, for that file only;'
            ' then save its state_dict to a clean file.') from None
    except (RuntimeError, EOFError, ValueError, OSError,
            zipfile.BadZipFile) as err:
        if isinstance(err, (FileNotFoundError, torch.OutOfMemoryError)):
            raise  # a missing file, or a device too small: not the file's
        raise NotACheckpointError(
            f'{_describe(path, role)} is not a checkpoint (truncated, '
            f'corrupted or another kind of file): {_first_line(err)}'
        ) from None


def _import_global(name: str) -> Any:
    """The object a pickle names ``module.qualname`` (for trusted files;
    ``builtins.getattr`` is the real one there)."""
    parts = name.split('.')
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f'Cannot import {name!r} named by a checkpoint.')


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _global_name(entry: Union[Callable, Tuple[Callable, str]]) -> str:
    """The pickle name of a :data:`SAFE_GLOBALS` entry."""
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def _unsafe_globals(path: str) -> Optional[List[str]]:
    """The globals the file names beyond torch's defaults and
    :data:`SAFE_GLOBALS` (``builtins.getattr`` is always listed when named:
    only :func:`history_statistic` stands in for it); None when the file
    cannot be read as a checkpoint at all."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001 - any failure: not a checkpoint
        return None
    ours = {_global_name(g) for g in SAFE_GLOBALS} - {'builtins.getattr'}
    return sorted(n for n in names if n not in ours)


def state_dict_of(checkpoint: Any, path: str, role: str) -> Dict[str, object]:
    """The model state dict of a loaded checkpoint (its ``state_dict``
    entry or the whole dict), with a ``module.`` prefix left by a
    (Distributed)DataParallel wrapper removed."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not all(
            isinstance(k, str) for k in state):
        raise NotACheckpointError(
            f'{_describe(path, role)} holds no state dict.')
    return strip_wrapper_prefix(state)


def strip_wrapper_prefix(state: Dict[str, object]) -> Dict[str, object]:
    """``state`` without the ``module.`` prefix that a
    (Distributed)DataParallel wrapper puts on every key (as it is when the
    keys have none)."""
    if state and all(k.startswith('module.') for k in state):
        return {k[len('module.'):]: v for k, v in state.items()}
    return state


def read_state_dict(path: str,
                    role: str = 'checkpoint',
                    mmap: bool = False) -> Dict[str, object]:
    """:func:`load_checkpoint_file` on the CPU, then
    :func:`state_dict_of`."""
    return state_dict_of(
        load_checkpoint_file(path, role, map_location='cpu', mmap=mmap), path,
        role)


# ------------------------------------------------------------ strict loading
def _group(keys: List[str], limit: int = 8) -> str:
    """'a.b.c', 'a.b.d', 'e.f' -> 'a.b.* (2 keys), e.f' (short, readable)."""
    prefixes = Counter('.'.join(k.split('.')[:2]) for k in keys)
    parts = [
        f'{p}.* ({n} keys)' if n > 1 else next(
            k for k in keys if k.startswith(p))
        for p, n in prefixes.most_common()
    ]
    more = f', ... ({len(parts) - limit} more groups)' if len(
        parts) > limit else ''
    return ', '.join(parts[:limit]) + more


def compare_state_dicts(
    own: Dict[str, object], state: Dict[str, object]
) -> Tuple[List[str], List[str], List[Tuple[str, tuple, tuple]]]:
    """(missing, unexpected, mismatched) keys of ``state`` against
    ``own``; mismatched entries are ``(key, checkpoint shape, model
    shape)``."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        (k, tuple(state[k].shape), tuple(own[k].shape)) for k in own
        if k in state and hasattr(state[k], 'shape') and hasattr(
            own[k], 'shape') and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    return missing, unexpected, mismatched


def _fix_hints(state: Dict[str, object], missing: List[str],
               mismatched: List[Tuple[str, tuple,
                                      tuple]], role: str) -> List[str]:
    hints = []
    if any(k.startswith(('student.', 'teacher.')) for k in state):
        hints.append('this is a distillation checkpoint: export its student '
                     'with tools/export_student.py and use that file')
    if any(k.startswith('auxiliary_head.') for k in missing):
        hints.append('the checkpoint has no auxiliary head: drop it with '
                     f'{role}=dict(..., overrides=dict(auxiliary_head=None))')
    seg = [(k, c, m) for k, c, m in mismatched
           if k.endswith('conv_seg.weight') or k.endswith('conv_seg.bias')]
    if any(c[0] != m[0] for _, c, m in seg):
        hints.append('the number of classes differs: the checkpoint must be '
                     f'trained on the same classes as the {role} config')
    elif any(len(c) > 1 and c[1] != m[1] for _, c, m in seg):
        hints.append("the decode head's input channels differ: the "
                     'checkpoint comes from another backbone or head width '
                     '(e.g. a deeper ResNet)')
    if not hints:
        hints.append(f'check that the checkpoint was trained with this {role}'
                     ' config (same backbone depth, heads and classes)')
    return hints


def mismatch_report(state: Dict[str, object], own: Dict[str, object],
                    what: str, role: str) -> Optional[str]:
    """A readable report of how ``state`` fails to fit ``own`` (missing,
    unexpected and mis-shaped keys, grouped by module, with the likely
    fix), or None when it fits exactly."""
    missing, unexpected, mismatched = compare_state_dicts(own, state)
    if not (missing or unexpected or mismatched):
        return None
    lines = [f'{what} does not match the {role} model:']
    if missing:
        lines.append(f'  missing in checkpoint ({len(missing)}): '
                     f'{_group(missing)}')
    if unexpected:
        lines.append(f'  unexpected in checkpoint ({len(unexpected)}): '
                     f'{_group(unexpected)}')
    if mismatched:
        shown = '; '.join(f'{k}: checkpoint {c} vs model {m}'
                          for k, c, m in mismatched[:5])
        lines.append(f'  shape mismatch ({len(mismatched)}): {shown}' +
                     (' ...' if len(mismatched) > 5 else ''))
    lines.append('  Fix: ' +
                 '; '.join(_fix_hints(state, missing, mismatched, role)) + '.')
    return '\n'.join(lines)


def load_checkpoint_strict(model: nn.Module,
                           path: str,
                           role: str = 'teacher') -> None:
    """Load ``path`` into ``model`` on the CPU, safely and strictly.

    Raises:
        CheckpointMismatchError: listing missing keys, unexpected keys and
            shape mismatches, grouped by module, with the likely fix.
    """
    state = read_state_dict(path, role)
    report = mismatch_report(state, model.state_dict(), _describe(path, role),
                             role)
    if report:
        raise CheckpointMismatchError(report)
    model.load_state_dict(state, strict=True)


# ------------------------------------------------------- the runner's loads
@contextlib.contextmanager
def safe_checkpoint_loading(role: str = 'resume') -> Iterator[None]:
    """Make :func:`load_checkpoint_file` mmengine's loader of local and
    http(s) paths inside the block (the runner's ``load_from`` and
    ``resume``), and put mmengine's own loaders back afterwards.

    Args:
        role (str): Named in errors, e.g. ``'resume'`` or ``'load_from'``.
    """

    def loader(
        filename: str, map_location: Union[str, torch.device, Callable,
                                           Dict[str, str], None]
    ) -> Any:
        return load_checkpoint_file(filename, role, map_location)

    prefixes = {
        '': mmengine_checkpoint.load_from_local,
        'http://': mmengine_checkpoint.load_from_http,
        'https://': mmengine_checkpoint.load_from_http
    }
    for prefix in prefixes:
        CheckpointLoader.register_scheme(prefix, loader, force=True)
    try:
        yield
    finally:
        for prefix, original in prefixes.items():
            CheckpointLoader.register_scheme(prefix, original, force=True)
