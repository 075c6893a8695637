# Copyright (c) mmseg_kd contributors. All rights reserved.
"""SKD holistic (adversarial) and CIRKD distillation through the Runner:
two optimizers, discriminator steps, memories; exact resume; DDP."""

import torch
from mmengine.runner import Runner

from .helpers import (assert_same_on_ranks, dist_train_two_ranks,
                      tiny_camvid_cfg, train_interrupted_and_resumed)

FEAT = dict(path='decode_head.conv_seg', side='input')
STATEFUL = dict(
    student_tensors=dict(logits='decode_head.conv_seg', feat=FEAT),
    teacher_tensors=dict(logits='decode_head.conv_seg', feat=FEAT),
    losses=dict(
        loss_kd=dict(type='KDLoss', student='logits', teacher='logits'),
        loss_adv=dict(
            type='SKDAdversarialLoss',
            student='logits',
            teacher='logits',
            discriminator=dict(type='SAGANDiscriminator', base_channels=8)),
        loss_mb=dict(
            type='CIRKDMiniBatchLoss', student='feat', teacher='feat'),
        loss_mem=dict(
            type='CIRKDMemoryLoss',
            student='feat',
            teacher='feat',
            num_classes=11,
            pixel_memory_size=200,
            region_memory_size=20,
            num_pixel_keys=110,
            num_region_keys=22)))


def stateful_cfg(work_dir, iters=4):
    cfg = tiny_camvid_cfg(
        str(work_dir), iters=iters, distill=STATEFUL, dropout=0.0)
    cfg.optim_wrapper = dict(
        constructor='DistillationOptimWrapperConstructor',
        student=dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        discriminator=dict(
            type='OptimWrapper',
            optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99))))
    cfg.param_scheduler = dict(
        student=[
            dict(
                type='PolyLR',
                power=0.9,
                eta_min=1e-4,
                begin=0,
                end=iters,
                by_epoch=False)
        ],
        discriminator=[
            dict(
                type='PolyLR',
                power=0.9,
                eta_min=1e-5,
                begin=0,
                end=iters,
                by_epoch=False)
        ])
    return cfg


def test_alternating_updates_log_and_export(tmp_path):
    runner = Runner.from_cfg(stateful_cfg(tmp_path, iters=2))
    model = runner.model
    disc_before = {
        k: v.clone()
        for k, v in model.discriminator.state_dict().items()
    }
    runner.train()
    scalars = runner.message_hub.log_scalars
    for key in ('loss_adv', 'loss_adv_d', 'loss_adv_gp', 'loss_mb',
                'loss_mem_pixel', 'loss_mem_region', 'loss_kd'):
        assert f'train/{key}' in scalars, key
    # the discriminator was trained by its own optimizer and scheduler
    after = model.discriminator.state_dict()
    assert any(not torch.equal(disc_before[k], after[k]) for k in after
               if 'weight' in k)
    assert 'train/discriminator.lr' in scalars
    exported = torch.load(tmp_path / 'student_final.pth', weights_only=True)
    assert not any(
        k.startswith(('discriminator', 'distiller', 'teacher'))
        for k in exported['state_dict'])


def test_resume_continues_discriminator_queues_exactly(tmp_path):
    reference, resumed = train_interrupted_and_resumed(stateful_cfg, tmp_path)
    ref, res = reference.model.state_dict(), resumed.model.state_dict()
    for key in ref:
        if key.endswith('_extra_state'):
            continue
        assert torch.allclose(
            ref[key].float(), res[key].float(), atol=1e-5), key
    mem_ref = reference.model.distiller.losses.loss_mem
    mem_res = resumed.model.distiller.losses.loss_mem
    assert torch.equal(mem_ref.pixel_ptr, mem_res.pixel_ptr)
    assert torch.equal(mem_ref.rng.generator.get_state(),
                       mem_res.rng.generator.get_state())
    for name in ('student', 'discriminator'):
        a = reference.optim_wrapper[name].state_dict()['state']
        b = resumed.optim_wrapper[name].state_dict()['state']
        for k in a:
            for field, value in a[k].items():
                if torch.is_tensor(value):
                    assert torch.allclose(
                        value.float(), b[k][field].float(), atol=1e-5)


def test_dist_train_keeps_queues_and_discriminator_in_sync(tmp_path):
    cfg = stateful_cfg(tmp_path, iters=3)
    out, rank0, rank1 = dist_train_two_ranks(cfg, tmp_path, port=29533)
    assert 'loss_adv_gp' in out and 'loss_mem_region' in out
    queue = 'distiller.losses.loss_mem.pixel_queue'
    assert not torch.equal(rank0[queue][:, :1],
                           torch.zeros_like(rank0[queue][:, :1]))
    # queues, their pointers and generator state (extra state), the
    # discriminator: all identical, without DDP broadcasting the queues
    assert_same_on_ranks(rank0, rank1)


def test_bf16_autocast_student_and_discriminator_steps(fresh_message_hub):
    """Under bf16 autocast (what AmpOptimWrapper's optim_context enters; the
    wrapper itself needs a GPU) the student runs in bf16 while every loss
    and the discriminator, gradient penalty included, compute in float32."""
    from ..conftest import build_mmseg, distill_model, fake_batch
    from .helpers import student_and_critic_wrappers
    model = build_mmseg(distill_model(**STATEFUL))
    wrappers = student_and_critic_wrappers(model)
    seen = {}
    model.student.decode_head.conv_seg.register_forward_hook(
        lambda m, a, out: seen.__setitem__('logits', out.dtype))
    d_before = [p.clone() for p in model.discriminator.parameters()]
    s_before = [p.clone() for p in model.student.parameters()]
    for _ in range(2):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            log = model.train_step(fake_batch(), wrappers)
    assert seen['logits'] == torch.bfloat16
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in log.values())
    for key in ('loss_adv', 'loss_adv_d', 'loss_adv_gp', 'loss_mb',
                'loss_mem_pixel', 'loss_kd'):
        assert log[key].dtype == torch.float32, key
    assert any(not torch.equal(a, b)
               for a, b in zip(d_before, model.discriminator.parameters()))
    assert any(not torch.equal(a, b)
               for a, b in zip(s_before, model.student.parameters()))
