# Copyright (c) mmseg_kd contributors. All rights reserved.
import random

import numpy as np
import torch
from torch import nn

from mmseg_kd.utils.random_state import (CheckpointedGenerator, random_state,
                                         set_random_state)


def test_set_random_state_replays_every_generator():
    state = random_state()
    first = (torch.rand(3), np.random.rand(3), random.random())
    set_random_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0])
    assert np.array_equal(first[1], again[1])
    assert first[2] == again[2]


def test_set_random_state_host_false_leaves_numpy_and_python():
    state = random_state()
    torch_first = torch.rand(3)
    np_first = np.random.rand(3)
    set_random_state(state, host=False)
    assert torch.equal(torch.rand(3), torch_first)
    assert not np.array_equal(np.random.rand(3), np_first)


class _Owner(nn.Module):

    def __init__(self, seed):
        super().__init__()
        self.rng = CheckpointedGenerator(seed)

    def draw(self):
        return torch.rand(4, generator=self.rng.generator)


def test_checkpointed_generator_resumes_through_the_state_dict():
    reference = _Owner(seed=3)
    reference.draw()
    saved = reference.state_dict()
    assert list(saved) == ['rng._extra_state']
    expected = reference.draw()

    resumed = _Owner(seed=99)
    resumed.load_state_dict(saved)
    torch.manual_seed(0)  # the global generator does not matter
    assert torch.equal(resumed.draw(), expected)


def test_checkpointed_generator_seeds_differ():
    assert not torch.equal(_Owner(0).draw(), _Owner(1).draw())
    assert torch.equal(_Owner(5).draw(), _Owner(5).draw())
