# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/benchmarks/camvid_step_cost.py: each row's training step, timed as
the benchmark trains it, as a ratio to KD's."""
import pytest
import torch
from camvid_step_cost import cost_table, main, row_config, rows_to_time


def test_the_student_alone_and_kd_come_first():
    assert rows_to_time(['mgd', 'kd',
                         'dsd']) == ['baseline', 'kd', 'mgd', 'dsd']


def test_cost_table_gives_each_row_its_ratio_to_kd():
    table = cost_table({'baseline': 0.1, 'kd': 0.2, 'mgd': 0.29})
    assert '| baseline | 0.100 | 0.50 |' in table
    assert '| kd | 0.200 | 1.00 |' in table
    assert '| mgd | 0.290 | 1.45 |' in table


def test_a_row_is_the_benchmarks_config_without_the_checkpoint_or_cosines():
    cfg = row_config('mgd')
    assert cfg.model.teacher.checkpoint is None  # costs what it would
    assert cfg.model.distill.monitor.grad_cosine_interval is None
    assert 'loss_mgd' in cfg.model.distill.losses
    assert tuple(cfg.crop_size) == (128, 128)
    assert cfg.train_dataloader.batch_size == 8
    assert row_config('baseline').model.type == 'EncoderDecoder'


def test_the_tool_times_the_rows(tmp_path, fresh_message_hub):
    out = tmp_path / 'cost.md'
    threads = torch.get_num_threads()
    text = main(['--methods', 'fitnet', '--repeats', '1', '--out', str(out)])
    assert out.read_text() == text
    assert '1 thread(s)' in text  # as each benchmark run
    assert torch.get_num_threads() == threads  # the caller's, restored
    rows = {
        line.split('|')[1].strip(): [float(v) for v in line.split('|')[2:4]]
        for line in text.splitlines()
        if line.startswith('| ') and not line.startswith('| row')
    }
    assert list(rows) == ['baseline', 'kd', 'fitnet']
    assert rows['kd'][1] == 1.0
    # a distillation step is a student step plus a teacher forward and more
    assert all(s > 0 for s, _ in rows.values())
    assert rows['baseline'][0] < rows['kd'][0]
    with pytest.raises(SystemExit):
        main(['--repeats', '0'])
