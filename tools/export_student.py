# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Write the student of a distillation checkpoint as a plain mmseg
checkpoint (no teacher, connectors or discriminator).

    python tools/export_student.py WORK_DIR/iter_40000.pth student.pth \
        [--config DISTILL_CONFIG --config-out student_config.py]

With --config, also writes a config for the student alone, so that stock
mmseg tools (tools/test.py, inference APIs) take the exported file. The
checkpoint is read weights-only (see docs/training_at_scale.md).
"""
import argparse
import os.path as osp

from _launch import add_trust_argument
from mmengine.config import Config

from mmseg_kd.engine.export import dump_student_config, export_student
from mmseg_kd.segmentors import resolve_model_entry
from mmseg_kd.utils import CheckpointError, trust_checkpoints


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='distillation training checkpoint')
    parser.add_argument('out', help='student checkpoint to write')
    parser.add_argument('--config', help='the distillation config')
    parser.add_argument(
        '--config-out', help='where to write the student-only config')
    add_trust_argument(parser)
    args = parser.parse_args()
    trust_checkpoints(args.trust_checkpoint)
    try:
        path = export_student(args.checkpoint, args.out)
    except (CheckpointError, FileNotFoundError, KeyError) as err:
        raise SystemExit(f'error: {err}') from None
    print(f'student checkpoint: {path}')
    if args.config:
        cfg = Config.fromfile(args.config)
        student_model, _ = resolve_model_entry(cfg.model.student.to_dict(),
                                               'student')
        out_cfg = args.config_out or osp.splitext(args.out)[0] + '_config.py'
        dump_student_config(cfg, student_model.to_dict(), out_cfg)
        print(f'student config: {out_cfg}')


if __name__ == '__main__':
    main()
