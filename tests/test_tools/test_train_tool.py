# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/train.py's entry-point behaviour: --amp on a CPU, the first
iteration's losses in the log of a short run."""
import sys

import pytest
import torch

from .helpers import run, tiny_camvid_cfg


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_amp_on_a_cpu_says_it_needs_a_gpu(tmp_path):
    cfg = tiny_camvid_cfg(str(tmp_path), iters=1)
    cfg.dump(str(tmp_path / 'cfg.py'))
    code, out = run(
        [sys.executable, 'tools/train.py',
         str(tmp_path / 'cfg.py'), '--amp'],
        check=False)
    assert code != 0 and '--amp needs a GPU' in out
    assert 'Traceback' not in out


def test_a_short_run_logs_its_first_iteration(tmp_path):
    """With the shipped logger interval of 50, a 2-iteration run printed no
    loss at all."""
    cfg = tiny_camvid_cfg(str(tmp_path), iters=2)
    cfg.default_hooks.logger.interval = 50
    cfg.train_cfg.val_interval = 100
    cfg.dump(str(tmp_path / 'cfg.py'))
    out = run([sys.executable, 'tools/train.py', str(tmp_path / 'cfg.py')])
    assert 'Iter(train) [1/2]' in out and 'loss_cwd' in out
