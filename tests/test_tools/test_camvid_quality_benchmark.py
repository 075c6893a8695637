# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/benchmarks/camvid_quality.py: its configs build for every method,
its table computes what it says, and results of other settings are never
reused."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from ..conftest import REPO, build_mmseg

SCRIPT = osp.join(REPO, 'tools', 'benchmarks', 'camvid_quality.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('camvid_quality', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_method_builds_under_the_cpu_protocol(bench, tmp_path):
    proto = dict(bench.PROTOCOLS['cpu'])
    teacher = build_mmseg(
        bench.cpu_config(dict(role='teacher', method='teacher', seed=0),
                         proto, str(tmp_path)).model)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    for method in bench.METHODS:
        run = dict(role='student', method=method, seed=1,
                   teacher_checkpoint=ckpt)
        cfg = bench.cpu_config(run, proto, str(tmp_path))
        assert cfg.randomness.seed == 1
        assert cfg.train_cfg.max_iters == proto['student_iters']
        model = build_mmseg(cfg.model)  # probes, sizes the connectors
        # the student is the small one, the teacher the trained checkpoint
        width = proto['student_width']
        assert model.student.backbone.stem[0].out_channels == width // 2
        for key, value in teacher.state_dict().items():
            assert torch.equal(model.teacher.model.state_dict()[key],
                               value), key
        if method == 'skd_holistic':  # its own discriminator optimizer
            assert set(cfg.optim_wrapper) >= {'student', 'discriminator'}
            assert set(cfg.param_scheduler) == {'student', 'discriminator'}


def test_table_mean_spread_and_gain(bench):
    def result(method, seed, miou):
        return dict(method=method, seed=seed, mIoU=miou)

    results = [result('baseline', 0, 40.0), result('baseline', 1, 42.0),
               result('kd', 0, 43.0), result('kd', 1, 46.0),
               dict(method='cwd_logits', seed=0, mIoU=None,
                    error='exit 1, see log')]
    teacher = dict(mIoU=55.5)
    text = bench.table(results, teacher, 'cpu',
                       dict(student_iters=7, seeds=[0, 1]))
    rows = {line.split('|')[1].strip(): line for line in text.splitlines()
            if line.startswith('| ')}
    assert '55.50' in text and 'student_iters=7' in text
    assert '| 41.00 | 2.00 |  |' in rows['baseline']
    # mean 44.5, spread 3, gain 44.5 - 41 = +3.5
    assert '| 44.50 | 3.00 | +3.50 | 43.00, 46.00 |' in rows['kd']
    assert 'failed' in rows['cwd_logits'] and 'exit 1' in rows['cwd_logits']
    assert 'ifvd' not in rows  # not run: no row


def test_results_of_other_settings_are_not_reused(bench, tmp_path):
    run = dict(name='kd_seed0', protocol='cpu',
               proto=dict(bench.PROTOCOLS['cpu']))  # seeds: a tuple
    done = json.loads(json.dumps(
        dict(run, proto=dict(run['proto'], student_iters=5), mIoU=1.0)))
    (tmp_path / 'kd_seed0').mkdir()
    with open(tmp_path / 'kd_seed0' / 'result.json', 'w') as f:
        json.dump(done, f)
    with pytest.raises(SystemExit, match='other protocol settings'):
        bench.launch(run, str(tmp_path))
    # the same settings: read back, not run again
    same = json.loads(json.dumps(dict(done, proto=run['proto'])))
    with open(tmp_path / 'kd_seed0' / 'result.json', 'w') as f:
        json.dump(same, f)
    assert bench.launch(run, str(tmp_path))['mIoU'] == 1.0
    # the teacher's result does not depend on the student's settings
    teacher = dict(run, name='teacher', role='teacher')
    (tmp_path / 'teacher').mkdir()
    with open(tmp_path / 'teacher' / 'result.json', 'w') as f:
        json.dump(json.loads(json.dumps(dict(teacher, mIoU=2.0))), f)
    fewer = dict(teacher, proto=dict(teacher['proto'], student_iters=3,
                                     seeds=(5, )))
    assert bench.launch(fewer, str(tmp_path))['mIoU'] == 2.0
    longer = dict(teacher, proto=dict(teacher['proto'], teacher_iters=3))
    with pytest.raises(SystemExit, match='teacher_iters differ'):
        bench.launch(longer, str(tmp_path))


def test_per_image_variant_rescales_batch_summed_terms_only(bench):
    shipped = bench.method_config('skd_pixel_pair', 8).model.distill.losses
    variant = bench.method_config('skd_pixel_pair_per_image',
                                  8).model.distill.losses
    assert shipped.keys() == variant.keys()
    for name, loss in shipped.items():
        factor = 2 / 8 if loss.get('reduction') == 'batch_sum' else 1.0
        assert variant[name].loss_weight == pytest.approx(
            loss.loss_weight * factor), name
    assert variant.loss_skd_pixel.loss_weight == pytest.approx(2.5)
    # at the shipped per-GPU batch nothing changes
    same = bench.method_config('skd_pixel_pair_per_image',
                               2).model.distill.losses
    assert (same.loss_skd_pixel.loss_weight ==
            shipped.loss_skd_pixel.loss_weight)
