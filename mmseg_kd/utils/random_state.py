# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The state of this process's random generators, to checkpoint and
restore."""
import random
from typing import Dict, List

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_world_size


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
