# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The runner's package, ``camvid_benchmark``, lives beside its script in
``tools/benchmarks/`` (which the script runs from), not in ``mmseg_kd``:
make it importable for these tests."""
import os.path as osp
import sys

from ...conftest import REPO

BENCHMARKS = osp.join(REPO, 'tools', 'benchmarks')
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
