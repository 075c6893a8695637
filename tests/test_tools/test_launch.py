# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/dist_train.sh and dist_test.sh: usage, the process count on a CPU
machine, the rendezvous timeout, and nodes that resume from different
checkpoints."""
import os
import subprocess
import sys
import time

import pytest
from mmengine.runner import Runner

from ..conftest import REPO, camvid_like_root
from .helpers import dump_for_ddp, tiny_camvid_cfg


def launch(args, env=None, timeout=300):
    full = dict(
        os.environ,
        PYTHON=sys.executable,
        OMP_NUM_THREADS='1',
        CAMVID_ROOT=camvid_like_root(),
        PYTHONPATH=REPO)
    full.update(env or {})
    return subprocess.run(
        ['bash'] + args,
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout)


@pytest.mark.parametrize('script,needed', [('tools/dist_train.sh', 2),
                                           ('tools/dist_test.sh', 3)])
def test_usage_without_arguments(script, needed):
    out = launch([script])
    assert out.returncode == 2
    assert 'usage' in out.stdout.lower() or script.split('/')[-1] in \
        out.stdout
    assert 'PYTHON' in out.stdout and 'Traceback' not in out.stderr


def test_more_processes_than_cores_is_said(tmp_path):
    cores = os.cpu_count() or 1
    out = launch(
        ['tools/dist_train.sh',
         str(tmp_path / 'missing.py'),
         str(cores + 1)],
        env=dict(PORT='29561'))
    assert f'{cores + 1} CPU processes' in out.stderr
    assert f'total batch is {cores + 1} x batch_size' in out.stderr
    assert f'on {cores} CPU cores' in out.stderr
    bad = launch(['tools/dist_train.sh', 'x.py', 'two'])
    assert bad.returncode == 2 and 'positive integer' in bad.stderr


def test_a_node_that_never_joins_times_out(tmp_path):
    start = time.time()
    out = launch(['tools/dist_train.sh',
                  str(tmp_path / 'missing.py'), '1'],
                 env=dict(
                     NNODES='2', NODE_RANK='0', RDZV_TIMEOUT='5',
                     PORT='29563'),
                 timeout=240)
    assert out.returncode != 0
    assert 'waiting up to 5s (RDZV_TIMEOUT)' in out.stderr
    assert time.time() - start < 150


def test_nodes_resuming_from_different_checkpoints_stop(tmp_path):
    """Two 'nodes' on loopback without a shared work dir: one finds a
    checkpoint, the other starts from scratch. Both stop with an error
    naming the iterations, instead of deadlocking later."""
    cfg = tiny_camvid_cfg(str(tmp_path / 'node0'), iters=2)
    Runner.from_cfg(cfg).train()  # node 0 has iter_2.pth
    procs = []
    for rank in (0, 1):
        work = tmp_path / f'node{rank}'
        work.mkdir(exist_ok=True)
        node_cfg = tiny_camvid_cfg(str(work), iters=4)
        path = dump_for_ddp(node_cfg, work)
        env = dict(
            os.environ,
            PYTHON=sys.executable,
            OMP_NUM_THREADS='1',
            CAMVID_ROOT=camvid_like_root(),
            PYTHONPATH=REPO,
            NNODES='2',
            NODE_RANK=str(rank),
            PORT='29565',
            RDZV_TIMEOUT='60')
        procs.append(
            subprocess.Popen(
                ['bash', 'tools/dist_train.sh', path, '1', '--resume'],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True))
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode != 0 for p in procs)
    assert any('start from different iterations [2, 0]' in o
               for o in outputs), outputs[0][-3000:]
