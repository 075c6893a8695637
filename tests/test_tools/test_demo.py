# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The README's main command, tools/demo.py (make demo), end to end at a
few iterations: dataset generated, teacher trained and handed to the
distillation, the exported student evaluated, the table written."""
import re
import sys

import torch
from mmengine.config import Config

from mmseg_kd.utils import read_state_dict
from .helpers import run


def test_demo_runs_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    out = run([
        sys.executable, 'tools/demo.py', '--work-dir',
        str(work), '--iters', '3', '--teacher-iters', '4', '--num-train', '8'
    ])
    assert 'Traceback' not in out
    table = (work / 'results.txt').read_text()
    assert 'teacher 4 iterations, each student 3' in table
    rows = re.findall(r'^(teacher|student) .*?\s(\d+\.\d\d)$', table, re.M)
    assert len(rows) == 3, table
    assert all(0.0 <= float(miou) <= 100.0 for _, miou in rows)
    assert (work / 'teacher' / 'iter_4.pth').is_file()
    # the distillation used the teacher the demo had just trained
    used = Config.fromfile(
        str(work / 'distill' / 'student-distilled_kd-cwd_pspnet_r18-w32-d8_'
            'pspnet_r18-w8-d8_600it_shapes-96x96.py'))
    assert used.model.teacher.checkpoint == str(work / 'teacher' /
                                                'iter_4.pth')
    exported = torch.load(
        work / 'distill' / 'student_final.pth', weights_only=True)
    student = read_state_dict(str(work / 'distill' / 'iter_3.pth'))
    assert set(exported['state_dict']) == {
        k[len('student.'):]
        for k in student if k.startswith('student.')
    }
    assert f'exported student: {work}/distill/student_final.pth' in table
