# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Hostile checkpoint files through every tool that loads one: refused, and
nothing they carry runs (no marker file appears)."""
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


def _run(args):
    env = dict(
        __import__('os').environ,
        CAMVID_ROOT=camvid_like_root(),
        OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable] + args,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)


def _commands(tmp_path, evil):
    cfg = tiny_camvid_cfg(str(tmp_path / 'work'), iters=1)
    distill = str(tmp_path / 'distill.py')
    cfg.dump(distill)
    model, _ = resolve_model_entry(cfg.model.student.to_dict(), 'student')
    student = str(tmp_path / 'student_config.py')
    student_config(cfg, model.to_dict()).dump(student)
    return {
        'load_from':
        ['tools/train.py', distill, '--cfg-options', f'load_from={evil}'],
        'resume': ['tools/train.py', distill, '--resume', evil],
        'test': ['tools/test.py', distill, evil],
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
    for name, args in _commands(tmp_path, evil).items():
        out = _run(args)
        text = out.stdout + out.stderr
        assert out.returncode != 0, f'{name} accepted it:\n{text[-3000:]}'
        assert not osp.exists(marker), f'{name} ran the payload'
        assert 'UnpicklingError' in text or 'was refused' in text, \
            f'{name}:\n{text[-3000:]}'
