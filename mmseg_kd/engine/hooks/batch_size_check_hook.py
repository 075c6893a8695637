# Copyright (c) mmseg_kd contributors. All rights reserved.
import os.path as osp
import re
from typing import Optional, Tuple

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

_NXB = re.compile(r'(?:^|[_-])(\d+)xb(\d+)(?:[_-]|$)')


def batch_in_name(filename: Optional[str]) -> Optional[Tuple[int, int]]:
    """(processes, images per process) of an mmseg-style config name, e.g.
    ``(4, 2)`` for ``..._4xb2-40k_...py``; None when the name has none."""
    if not filename:
        return None
    match = _NXB.search(osp.basename(filename))
    return (int(match.group(1)), int(match.group(2))) if match else None


@HOOKS.register_module()
class BatchSizeCheckHook(Hook):
    """Warns before the first step when the run's total batch (processes x
    images per process) differs from the ``NxB`` in the config's file name
    (mmseg's naming: ``4xb2`` = 4 GPUs x 2 images), with both numbers: the
    learning rate and any batch-summed loss were set for the named batch.
    ``tools/train.py`` adds it."""

    def before_train(self, runner: Runner) -> None:
        named = batch_in_name(runner.cfg.filename)
        if named is None:
            return
        world = get_world_size()
        per_gpu = runner.train_dataloader.batch_size
        if (world, per_gpu) == named:
            return
        runner.logger.warning(
            f'The config is named for {named[0]}x{named[1]} (a total batch '
            f'of {named[0] * named[1]}), but this run has {world} '
            f'process(es) x {per_gpu} image(s) = {world * per_gpu}. The '
            'learning rate was set for the named batch (see '
            'auto_scale_lr in docs/training_at_scale.md), and a '
            'batch-summed loss changes strength with the images per '
            'process (its tuned_images_per_gpu / on_batch_change).')
