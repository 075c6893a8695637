# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The module paths of the teacher or the student, with their output
shapes: what a tensor spec can name."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from torch import Tensor

from ...distill.network import forward_network
from ...segmentors.model_loading import resolve_model_entry
from ...utils import mmseg_scope, revert_unusable_sync_bn
from .inputs import plain_entry, teacher_entries
from .report import ModuleRow


def _shape_text(value: Any) -> Optional[str]:
    if isinstance(value, Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        inner = [_shape_text(v) for v in value]
        if inner and all(i is not None for i in inner):
            return '[' + ', '.join(inner) + ']'
    return None


def list_modules(cfg: Config,
                 side: str,
                 input_size: Optional[Sequence[int]] = None
                 ) -> Tuple[List[ModuleRow], str]:
    """The modules of the teacher or the student of a distillation config
    (built alone: a wrong tensor path elsewhere does not stop it), with the
    output shapes of one forward on a random image.

    Args:
        cfg (Config): A distillation config.
        side (str): ``'student'`` or ``'teacher'``.
        input_size (Sequence[int], optional): (H, W) of the image. Default:
            the model's preprocessor ``size``, else ``distill.probe_size``,
            else 128x128.

    Returns:
        tuple: The rows (``named_modules`` order) and a note on the shapes.
    """
    entries = dict(student=cfg.model.student)
    entries.update(teacher_entries(cfg))
    if side not in entries:
        raise ValueError(f'side must be one of {sorted(entries)}, got '
                         f'{side!r}.')
    model_cfg, _ = resolve_model_entry(plain_entry(entries[side]), side)
    with mmseg_scope():
        model = revert_unusable_sync_bn(MODELS.build(model_cfg), side)
    model.eval()
    rows = [
        ModuleRow(name,
                  type(module).__name__)
        for name, module in model.named_modules() if name
    ]
    pre = model_cfg.get('data_preprocessor') or {}
    size = tuple(
        input_size or pre.get('size')
        or cfg.model.distill.get('probe_size', (128, 128)))
    outputs: Dict[str, str] = {}

    def record(name):

        def hook(module, args, output):
            if name not in outputs:
                outputs[name] = _shape_text(output)

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in model.named_modules() if name
    ]
    try:
        with torch.no_grad():
            forward_network(model, torch.randn((1, 3) + size),
                            {'decode_head', 'auxiliary_head'})
        note = f'output shapes on a 1x3x{size[0]}x{size[1]} input'
    except Exception as err:  # noqa: BLE001 - the listing is still useful
        note = (f'no output shapes: the forward on a 1x3x{size[0]}x{size[1]}'
                f' input failed ({type(err).__name__}: {err})')
    finally:
        for handle in handles:
            handle.remove()
    for row in rows:
        row.output = outputs.get(row.path)
    return rows, note
