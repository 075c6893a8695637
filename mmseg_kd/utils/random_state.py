# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The state of this process's random generators, to checkpoint and
restore."""
import random
from typing import Dict, List

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_world_size
from torch import Tensor, nn


def random_state() -> Dict[str, object]:
    """torch's CPU generator (and the CUDA ones, when CUDA is in use),
    numpy's global state and Python's ``random`` state: plain tensors,
    arrays, tuples and numbers (a weights-only load reads them)."""
    state = dict(
        torch=torch.get_rng_state(),
        numpy=np.random.get_state(),
        python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: Dict[str, object], host: bool = True) -> None:
    """Restore what :func:`random_state` returned. ``host=False`` restores
    torch's generators only (CPU and CUDA), leaving numpy's and Python's."""
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
    if host:
        np.random.set_state(state['numpy'])
        random.setstate(state['python'])


def all_random_states() -> List[Dict[str, object]]:
    """Every rank's :func:`random_state`, indexed by rank (a collective:
    every rank must call it)."""
    if get_world_size() == 1:
        return [random_state()]
    return all_gather_object(random_state())


class CheckpointedGenerator(nn.Module):
    """A torch CPU generator of a module's own, as a submodule whose state
    is part of the parent's state dict (``<name>._extra_state``): seeded at
    construction, saved with every checkpoint and restored on load, so a
    resumed run draws what the uninterrupted one would have, whatever else
    consumed torch's global generator meanwhile.

    Args:
        seed (int): The seed. Defaults to 0.
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.generator = torch.Generator().manual_seed(seed)

    def get_extra_state(self) -> Tensor:
        return self.generator.get_state()

    def set_extra_state(self, state: Tensor) -> None:
        self.generator.set_state(state.cpu().clone())
