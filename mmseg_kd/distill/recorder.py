# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Recording intermediate tensors of a model by module path, with forward
hooks that exist only during a recording and keep no reference across
steps."""
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Tuple

from mmengine.logging import print_log
from torch import Tensor, nn

from .tensor_spec import SpecLike, TensorSpec


class RecordingComplete(Exception):
    """Raised inside a forward to stop it once every tensor is recorded."""


def resolve_module(model: nn.Module, path: str, owner: str) -> nn.Module:
    """Return ``model``'s submodule at ``path``, or raise a ``KeyError`` that
    lists the closest real module names."""
    if path == '':
        return model
    modules = dict(model.named_modules())
    if path in modules:
        return modules[path]
    names = [n for n in modules if n]
    close = difflib.get_close_matches(path, names, n=5, cutoff=0.5)
    # also offer children of the deepest existing parent
    parent = path
    while parent and parent not in modules:
        parent = parent.rpartition('.')[0]
    children = [
        n for n, _ in (modules[parent] if parent else model).named_children()
    ]
    prefix = f'{parent}.' if parent else ''
    hint = ''
    if close:
        hint += ' Closest module names: ' + ', '.join(close) + '.'
    if children:
        shown = ', '.join(prefix + c for c in children[:12])
        more = ' ...' if len(children) > 12 else ''
        hint += f" Children of '{parent or '<model>'}': {shown}{more}."
    raise KeyError(f'The {owner} has no module {path!r}.{hint} '
                   f'Run tools/probe.py with --list-modules to see them all.')


def _select(value: Any, spec: TensorSpec, owner: str, what: str) -> Tensor:
    if spec.index is not None:
        if not isinstance(value, (tuple, list)):
            raise TypeError(
                f'{owner} tensor {spec.name!r}: {spec.path} {what} is a '
                f'{type(value).__name__}, not a tuple/list, so index='
                f'{spec.index} cannot be applied; remove index.')
        if not -len(value) <= spec.index < len(value):
            raise IndexError(
                f'{owner} tensor {spec.name!r}: {spec.path} {what} has '
                f'{len(value)} elements, index={spec.index} is out of range.')
        value = value[spec.index]
    if not isinstance(value, Tensor):
        kind = type(value).__name__
        extra = (f' of {len(value)} elements; pick one with index=i'
                 if isinstance(value, (tuple, list)) else '')
        raise TypeError(f'{owner} tensor {spec.name!r}: {spec.path} {what} '
                        f'is a {kind}{extra}, not a tensor.')
    return value


@dataclass
class _Recording:
    """The state of one :meth:`TensorRecorder.run`: how often each module
    path ran, the tensors recorded, their in-place version counters at
    record time and, for tensors not verified yet, copies."""
    calls: Dict[str, int] = field(default_factory=lambda: defaultdict(int))
    records: Dict[str, Tensor] = field(default_factory=dict)
    versions: Dict[str, int] = field(default_factory=dict)
    backups: Dict[str, Tensor] = field(default_factory=dict)


class TensorRecorder:
    """Records named tensors of ``model`` while :meth:`run` executes a forward.

    The hooks exist only during :meth:`run`, which registers them for its
    own recording and removes them before returning the records: nothing is
    held between steps, and a forward outside :meth:`run` is untouched.

    In-place safety: a recorded tensor must keep the value it had at its
    module. Two mechanisms guarantee it at minimal memory cost:

    * a leaf module with ``inplace=True`` (``ReLU``, ``LeakyReLU``, ...) that
      receives a recorded tensor gets ``inplace=False`` (only that module);
    * the first time a tensor is recorded a copy is kept; if the tensor was
      changed in place by anything else (e.g. ``out += identity``), the copy
      is used and that tensor is copied at record time from then on.
      Tensors that were not changed drop the copy and are never copied again.

    Args:
        model (nn.Module): The model to record from.
        specs (Mapping[str, str | dict]): Tensor name to spec, see
            :class:`TensorSpec`.
        owner (str): ``'student'`` or ``'teacher'``, used in messages.
        stop_when_complete (bool): Raise :class:`RecordingComplete` as soon
            as every tensor has been recorded, ending the forward early (for
            the teacher, whose remaining layers would be wasted work).
    """

    def __init__(self,
                 model: nn.Module,
                 specs: Mapping[str, SpecLike],
                 owner: str = 'student',
                 stop_when_complete: bool = False) -> None:
        self.owner = owner
        self.stop_when_complete = stop_when_complete
        self.specs: Dict[str, TensorSpec] = {
            name: TensorSpec.parse(name, spec)
            for name, spec in specs.items()
        }
        by_path: Dict[str, List[TensorSpec]] = defaultdict(list)
        for spec in self.specs.values():
            by_path[spec.path].append(spec)
        # (module, path, its specs), resolved now so that a wrong path
        # fails at build time
        self._targets = [(resolve_module(model, path, owner), path, specs)
                         for path, specs in by_path.items()]
        # In-place guards run after the recording hooks, so that a module
        # whose own input is recorded sees the record before running. The
        # ``inplace`` attribute is torch's convention (ReLU, Dropout,
        # Hardswish, ...), not declared by any base class, so it is read
        # from the module; likewise, a tensor's ``_version`` counter is how
        # autograd itself detects in-place changes, and ``_store`` and
        # ``_collect`` compare it for the same purpose.
        self._inplace_modules = [
            (name, module) for name, module in model.named_modules()
            if getattr(module, 'inplace', False) is True and not any(
                True for _ in module.children())
        ]
        # learned across runs: tensors whose records were found unchanged
        # (no copy needed) or changed in place (always copied)
        self._verified: set = set()
        self._copy_always: set = set()

    # ----------------------------------------------------------------- hooks
    def _register(self, rec: _Recording) -> List[Any]:
        """Register the hooks of one recording; returns their handles."""
        handles = []
        for module, path, specs in self._targets:
            handles.append(
                module.register_forward_pre_hook(
                    self._make_pre_hook(rec, path, specs)))
            if any(s.side == 'output' for s in specs):
                handles.append(
                    module.register_forward_hook(
                        self._make_post_hook(rec, path, specs)))
        for name, module in self._inplace_modules:
            if module.inplace:  # (a guard turns it off once, for good)
                handles.append(
                    module.register_forward_pre_hook(
                        self._make_inplace_guard(rec, name)))
        return handles

    def _make_pre_hook(self, rec: _Recording, path: str,
                       specs: List[TensorSpec]):

        def hook(module, args):
            call = rec.calls[path]
            rec.calls[path] = call + 1
            for spec in specs:
                if spec.side == 'input' and spec.call == call:
                    if not args:
                        raise TypeError(
                            f'{self.owner} tensor {spec.name!r}: {path} was '
                            'called without positional inputs, so side='
                            "'input' cannot record it.")
                    index = 0 if spec.index is None else spec.index
                    value = args[index] if index < len(args) else None
                    if not isinstance(value, Tensor):
                        raise TypeError(
                            f'{self.owner} tensor {spec.name!r}: positional '
                            f'input {index} of {path} is '
                            f'{type(value).__name__}, not a tensor.')
                    self._store(rec, spec.name, value)
            self._maybe_stop(rec)

        return hook

    def _make_post_hook(self, rec: _Recording, path: str,
                        specs: List[TensorSpec]):

        def hook(module, args, output):
            call = rec.calls[path] - 1
            for spec in specs:
                if spec.side == 'output' and spec.call == call:
                    self._store(rec, spec.name,
                                _select(output, spec, self.owner, 'output'))
            self._maybe_stop(rec)

        return hook

    def _make_inplace_guard(self, rec: _Recording, module_name: str):

        def hook(module, args):
            if not rec.records:
                return
            for arg in args:
                if not isinstance(arg, Tensor):
                    continue
                for name, recorded in rec.records.items():
                    if arg is recorded:
                        module.inplace = False
                        print_log(
                            f'[mmseg_kd] {self.owner}: {module_name} '
                            f'({type(module).__name__}) consumes recorded '
                            f'tensor {name!r}; set inplace=False on it so '
                            'the record keeps its value.',
                            logger='current')
                        return

        return hook

    def _store(self, rec: _Recording, name: str, value: Tensor) -> None:
        if name in self._copy_always:
            rec.records[name] = value.clone()
            return
        rec.records[name] = value
        rec.versions[name] = value._version
        if name not in self._verified:
            rec.backups[name] = value.clone()

    def _maybe_stop(self, rec: _Recording) -> None:
        if self.stop_when_complete and len(rec.records) == len(self.specs):
            raise RecordingComplete

    # ------------------------------------------------------------ recording
    def run(self, forward: Callable[[], Any]) -> Tuple[Any, Dict[str, Tensor]]:
        """Run ``forward()`` while recording.

        Args:
            forward (callable): Runs the model's forward (no arguments).

        Returns:
            tuple: ``forward``'s return value (None when the forward was
            stopped early) and a dict of the recorded tensors.
        """
        rec = _Recording()
        handles = self._register(rec)
        output = None
        try:
            output = forward()
        except RecordingComplete:
            pass
        finally:
            for handle in handles:
                handle.remove()
        return output, self._collect(rec)

    def _collect(self, rec: _Recording) -> Dict[str, Tensor]:
        missing = [s for n, s in self.specs.items() if n not in rec.records]
        if missing:
            lines = []
            for spec in missing:
                ran = rec.calls.get(spec.path, 0)
                why = ('did not run in this forward' if ran == 0 else
                       f'ran {ran} time(s), but call={spec.call} was asked')
                lines.append(f'  {spec.name!r} at {spec.describe()}: the '
                             f'module {why}')
            raise RuntimeError(
                f'The {self.owner} did not produce every tensor the '
                'distillation needs:\n' + '\n'.join(lines) + '\nPick modules '
                'that run in the training forward (tools/probe.py lists '
                'them with their shapes); for the teacher, only the backbone,'
                ' neck, decode head and auxiliary heads are run.')
        records = {}
        for name, value in rec.records.items():
            if name in self._copy_always:
                records[name] = value
                continue
            changed = value._version != rec.versions[name]
            if name in rec.backups:
                if changed:
                    self._copy_always.add(name)
                    records[name] = rec.backups[name]
                    print_log(
                        f'[mmseg_kd] {self.owner} tensor {name!r} '
                        f'({self.specs[name].describe()}) is modified in '
                        'place after it is recorded; a copy is recorded '
                        'from now on.',
                        logger='current')
                else:
                    self._verified.add(name)
                    records[name] = value
            elif changed:
                raise RuntimeError(
                    f'{self.owner} tensor {name!r} '
                    f'({self.specs[name].describe()}) was modified in place '
                    'after recording in this step although it was not '
                    'before (the forward takes a different path). Record '
                    'the output of the module that follows instead.')
            else:
                records[name] = value
        return records
