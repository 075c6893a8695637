# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/benchmarks/overhead.py: its arguments are checked before any model
is built."""
import os.path as osp
import sys

from ..conftest import REPO
from .helpers import run

TOOL = osp.join(REPO, 'tools', 'benchmarks', 'overhead.py')


def test_batch_of_one_is_refused_with_the_reason():
    code, out = run([sys.executable, TOOL, '--batch', '1'], check=False)
    assert code == 2, out
    assert '--batch must be at least 2' in out
    assert 'BatchNorm' in out
