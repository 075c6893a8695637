# Copyright (c) mmseg_kd contributors. All rights reserved.
import math
from typing import Dict

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import print_log
from torch import Tensor


class NonFiniteGuard:
    """What a training step does when a loss term (the student's own or a
    distillation term) is NaN or Inf: an update with it would write NaN
    into the weights.

    Args:
        mode (str): ``'raise'`` (stop with the terms named and the usual
            causes) or ``'skip'`` (skip that update; all ranks decide
            together).
        max_skipped_steps (int): With ``'skip'``, how many skipped steps in
            a row stop the run (it is not training). Defaults to 20.
    """

    def __init__(self, mode: str = 'raise', max_skipped_steps: int = 20):
        if mode not in ('raise', 'skip'):
            raise ValueError("distill.nonfinite must be 'raise' or 'skip'.")
        self.mode = mode
        self.max_skipped_steps = int(max_skipped_steps)
        self._skipped_in_a_row = 0

    def __call__(self, terms: Dict[str, Tensor], iteration: int) -> bool:
        """The non-finite guard.

        Args:
            terms (dict): The step's loss terms by name (task and
                distillation; what is summed into the update).
            iteration (int): The training iteration, for the message.

        Returns:
            bool: True when this step's update must be skipped
            (``nonfinite='skip'``). Raises otherwise, or when too many steps
            in a row were skipped. One device sync for all terms; under DDP
            every rank takes the same decision.
        """
        if not terms:
            return False
        values = torch.stack([v.detach().float() for v in terms.values()])
        bad_here = (~torch.isfinite(values)).any().float().reshape(1)
        if get_world_size() > 1:
            # every rank must take the same decision, or DDP deadlocks
            all_reduce(bad_here, op='max')
        if not bool(bad_here):
            self._skipped_in_a_row = 0
            return False
        floats = {k: float(v.detach()) for k, v in terms.items()}
        bad = [k for k, v in floats.items() if not math.isfinite(v)]
        if bad:
            msg = (f'Loss term(s) {bad} became non-finite at '
                   f'iteration {iteration} (values: ' +
                   ', '.join(f'{k}={floats[k]}' for k in bad) + ').')
        else:
            msg = ('A loss term became non-finite on another rank at '
                   f'iteration {iteration}.')
        fix = (' Usual causes: a learning rate or loss_weight too high, '
               'fp16 overflow (try bf16, or teacher precision fp32), or a '
               'feature loss on unnormalised features.')
        if self.mode == 'skip':
            self._skipped_in_a_row += 1
            if self._skipped_in_a_row >= self.max_skipped_steps:
                raise FloatingPointError(
                    f'{msg} That is {self._skipped_in_a_row} skipped steps '
                    'in a row (distill.max_skipped_steps): the run is not '
                    f'training, so it stops.{fix}')
            print_log(
                f'[mmseg_kd] {msg} Skipping this update.',
                logger='current',
                level=30)
            return True
        raise FloatingPointError(
            msg + fix + " Set distill.nonfinite='skip' to skip such steps "
            'instead of stopping.')
