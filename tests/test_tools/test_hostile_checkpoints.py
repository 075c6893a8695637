# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Hostile checkpoint files through every tool that loads one: refused, and
nothing they carry runs (no marker file appears)."""
import os
import os.path as osp
import subprocess
import sys

import mmseg
import pytest

from mmseg_kd.engine.export import student_config
from mmseg_kd.segmentors import resolve_model_entry
from ..conftest import REPO, camvid_like_root
from ..test_utils.test_checkpoint import PAYLOADS
from .helpers import tiny_camvid_cfg

STOCK_TEST = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')


def _start(args):
    """Start one tool on its own (they run side by side: each is mostly
    start-up, imports and config parsing)."""
    env = dict(os.environ, CAMVID_ROOT=camvid_like_root(), OMP_NUM_THREADS='1')
    return subprocess.Popen(
        [sys.executable] + args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def _commands(tmp_path, evil):
    cfg = tiny_camvid_cfg(str(tmp_path / 'work'), iters=1)
    distill = str(tmp_path / 'distill.py')
    cfg.dump(distill)
    model, _ = resolve_model_entry(cfg.model.student.to_dict(), 'student')
    student = str(tmp_path / 'student_config.py')
    student_config(cfg, model.to_dict()).dump(student)
    return {
        'load_from': [
            'tools/train.py', distill, '--work-dir',
            str(tmp_path / 'load_from'), '--cfg-options', f'load_from={evil}'
        ],
        'resume': [
            'tools/train.py', distill, '--work-dir',
            str(tmp_path / 'resume'), '--resume', evil
        ],
        'test':
        ['tools/test.py', distill, evil, '--work-dir',
         str(tmp_path / 'test')],
        'export': ['tools/export_student.py', evil,
                   str(tmp_path / 'out.pth')],
        'stock_mmseg_test':
        [STOCK_TEST, student, evil, '--work-dir',
         str(tmp_path / 'stock')],
    }


@pytest.mark.parametrize('payload', sorted(PAYLOADS))
def test_every_tool_refuses_hostile_checkpoints(tmp_path, payload):
    marker = str(tmp_path / 'pwned')
    evil = PAYLOADS[payload](str(tmp_path / 'evil.pth'), marker)
    started = {
        name: _start(args)
        for name, args in _commands(tmp_path, evil).items()
    }
    try:
        outputs = {
            name: proc.communicate(timeout=300)[0]
            for name, proc in started.items()
        }
    finally:
        for proc in started.values():
            proc.kill()
    for name, text in outputs.items():
        proc = started[name]
        assert proc.returncode != 0, f'{name} accepted it:\n{text[-3000:]}'
        assert not osp.exists(marker), f'{name} ran the payload'
        assert 'UnpicklingError' in text or 'was refused' in text, \
            f'{name}:\n{text[-3000:]}'
