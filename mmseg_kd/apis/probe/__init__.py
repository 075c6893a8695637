# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Inspect a distillation config before training it (``tools/probe.py``).

:func:`run_probe` builds the :class:`DistillationSegmentor` of a config (the
teacher checkpoint included), runs one batch through the training path
(``data_preprocessor(batch, True)`` then ``loss``, without gradient) and
returns a :class:`ProbeReport`: every recorded tensor with its module, shape,
dtype, stride and connector, and every loss term's initial value next to the
student's task loss. :func:`list_modules` lists the module paths of the
teacher or the student, with their output shapes, to pick tensors from.

Errors are the ones training would raise, at the same place (wrong module
path, shape mismatch, missing or mismatched checkpoint, ...).

One job per module: :mod:`.inputs` (the config, the model, one batch),
:mod:`.probing` (the batch through the training path), :mod:`.modules`
(module paths to pick tensors from), :mod:`.report` (the result types) and
:mod:`.formatting` (their text tables).
"""
from .formatting import error_message, format_modules, format_report
from .inputs import (build_model, load_config, make_batch, pad_to_probe_size,
                     random_batch, teacher_checkpoints, teacher_entries)
from .modules import list_modules
from .probing import describe_connector, probe, run_probe
from .report import LossRow, ModuleRow, ProbeReport, TensorRow, TensorSide

__all__ = [
    'build_model', 'describe_connector', 'error_message', 'format_modules',
    'format_report', 'list_modules', 'load_config', 'LossRow', 'make_batch',
    'ModuleRow', 'pad_to_probe_size', 'probe', 'ProbeReport', 'random_batch',
    'run_probe', 'teacher_checkpoints', 'teacher_entries', 'TensorRow',
    'TensorSide'
]
