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


def test_test_tool_refuses_another_architecture_and_needs_no_teacher_file(
        tmp_path):
    """tools/test.py used to print size-mismatch warnings, then an mIoU of
    random weights; and needed the teacher's checkpoint file although the
    training checkpoint holds the teacher and testing never runs it."""
    from mmengine.runner import Runner

    from mmseg_kd.engine.export import dump_student_config
    from mmseg_kd.segmentors import resolve_model_entry
    from ..conftest import build_mmseg, tiny_segmentor
    cfg = tiny_camvid_cfg(str(tmp_path / 'run'), iters=2)
    cfg.model.teacher.checkpoint = str(tmp_path / 'teacher.pth')
    teacher = build_mmseg(cfg.model.teacher.model.to_dict())
    torch.save({'state_dict': teacher.state_dict()},
               cfg.model.teacher.checkpoint)
    Runner.from_cfg(cfg).train()
    distill_cfg = str(tmp_path / 'distill.py')
    cfg.dump(distill_cfg)
    (tmp_path / 'teacher.pth').unlink()  # gone from the test machine
    out = run([
        sys.executable, 'tools/test.py', distill_cfg,
        str(tmp_path / 'run' / 'iter_2.pth'), '--work-dir',
        str(tmp_path / 't')
    ])
    assert 'mIoU: ' in out
    # a plain checkpoint of another width with the student's config
    model, _ = resolve_model_entry(cfg.model.student.to_dict(), 'student')
    student_cfg = dump_student_config(cfg, model.to_dict(),
                                      str(tmp_path / 'student_config.py'))
    other = build_mmseg(tiny_segmentor(width=16, size=(96, 96)))
    torch.save({'state_dict': other.state_dict()}, tmp_path / 'other.pth')
    code, out = run([
        sys.executable, 'tools/test.py', student_cfg,
        str(tmp_path / 'other.pth')
    ],
                    check=False)
    assert code != 0 and 'shape mismatch' in out and 'mIoU: ' not in out
