# Copyright (c) mmseg_kd contributors. All rights reserved.
"""End-to-end demo on a dataset the project generates itself.

1. generate the synthetic shapes dataset (train/val, 96x96, 6 classes);
2. train a teacher (PSPNet-R18 at width 32) from scratch (1200 iterations);
3. train the student (PSPNet-R18 at width 8) alone, as the baseline
   (600 iterations);
4. distill the teacher into the same student, same schedule and seed, with
   DistillationSegmentor (pixel-wise KD + CWD on the logits);
5. evaluate the three on the val split with mmseg's IoUMetric (the
   distilled student from its exported student-only checkpoint and config)
   and print their mIoU side by side.

    python tools/demo.py [--work-dir work_dirs/demo] [--iters 600]
                         [--teacher-iters 1200]

About 10 minutes on a 2-core CPU; progress is logged as it trains.
"""
import argparse
import logging
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

import mmseg_kd  # noqa: F401
from mmseg_kd.datasets import generate_shapes_dataset

CONFIGS = osp.join(osp.dirname(__file__), '..', 'distillation_configs', 'demo')
TEACHER = 'teacher_pspnet_r18-w32-d8_1200it_shapes-96x96.py'
STUDENT = 'student-alone_pspnet_r18-w8-d8_600it_shapes-96x96.py'
DISTILL = ('student-distilled_kd-cwd_pspnet_r18-w32-d8_pspnet_r18-w8-d8_'
           '600it_shapes-96x96.py')


def load(name: str, work_dir: str, iters: int) -> Config:
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = max(10, iters // 12)
    cfg.default_hooks.checkpoint.save_last = True
    # one visualizer (and scalar log) per run: mmengine's instances are
    # global by name, so the three runs would otherwise share one
    cfg.visualizer.name = f'visualizer_{osp.basename(work_dir)}'
    return cfg


def train(cfg: Config, title: str) -> str:
    print(f'\n=== {title} ===', flush=True)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = osp.join(cfg.work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    print(
        f'=== {title}: done in {time.time() - start:.0f}s -> {ckpt}',
        flush=True)
    return ckpt


def evaluate(cfg: Config, checkpoint: str) -> float:
    cfg = cfg.copy()
    cfg.load_from = checkpoint
    cfg.work_dir = osp.join(cfg.work_dir, 'eval')
    metrics = Runner.from_cfg(cfg).test()
    return float(metrics['mIoU'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--iters', type=int, default=600, help='student iterations')
    parser.add_argument('--teacher-iters', type=int, default=1200)
    parser.add_argument('--num-train', type=int, default=400)
    args = parser.parse_args()
    work = osp.abspath(args.work_dir)
    data = osp.join(work, 'data')
    os.environ['SHAPES_ROOT'] = data
    start = time.time()

    print(f'Generating the shapes dataset in {data} ...', flush=True)
    generate_shapes_dataset(data, num_train=args.num_train, num_val=100)

    teacher_cfg = load(TEACHER, osp.join(work, 'teacher'), args.teacher_iters)
    student_cfg = load(STUDENT, osp.join(work, 'student'), args.iters)
    distill_cfg = load(DISTILL, osp.join(work, 'distill'), args.iters)

    teacher_ckpt = train(teacher_cfg, '1/3 teacher (PSPNet-R18, width 32)')
    student_ckpt = train(student_cfg,
                         '2/3 student alone (PSPNet-R18, width 8)')
    distill_cfg.model.teacher.checkpoint = teacher_ckpt
    train(distill_cfg, '3/3 student distilled from the teacher (KD + CWD)')

    # the distilled student is evaluated from its export, like a user would
    exported = osp.join(distill_cfg.work_dir, 'student_final.pth')
    exported_cfg = Config.fromfile(
        osp.join(distill_cfg.work_dir, 'student_config.py'))
    print(
        '\n=== evaluation on the val split (mmseg IoUMetric) ===', flush=True)
    results = [
        ('teacher  PSPNet-R18 w32', evaluate(teacher_cfg, teacher_ckpt)),
        ('student  PSPNet-R18 w8, no KD', evaluate(student_cfg, student_ckpt)),
        ('student  PSPNet-R18 w8, KD+CWD', evaluate(exported_cfg, exported)),
    ]
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    lines = [
        '', f'Demo results (teacher {args.teacher_iters} iterations, '
        f'each student {args.iters}; {time.time() - start:.0f}s in all)',
        f'{"model":34s} {"val mIoU":>8s}', '-' * 43
    ]
    lines += [f'{name:34s} {miou:8.2f}' for name, miou in results]
    gain = results[2][1] - results[1][1]
    lines += [
        '-' * 43, f'distillation gain: {gain:+.2f} mIoU',
        f'exported student: {exported}'
    ]
    print('\n'.join(lines), flush=True)
    with open(osp.join(work, 'results.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
