# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Write the student of a distillation checkpoint as a plain mmseg
checkpoint (no teacher, connectors or discriminator).

    python tools/export_student.py WORK_DIR/iter_40000.pth student.pth \
        [--config DISTILL_CONFIG --config-out student_config.py]

With --config, also writes a config for the student alone, so that stock
mmseg tools (tools/test.py, inference APIs) take the exported file.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import Config  # noqa: E402

from mmseg_kd.engine.export import export_student, student_config  # noqa


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='distillation training checkpoint')
    parser.add_argument('out', help='student checkpoint to write')
    parser.add_argument('--config', help='the distillation config')
    parser.add_argument(
        '--config-out', help='where to write the student-only config')
    args = parser.parse_args()
    path = export_student(args.checkpoint, args.out)
    print(f'student checkpoint: {path}')
    if args.config:
        from mmseg_kd.segmentors.model_loading import resolve_model_entry
        cfg = Config.fromfile(args.config)
        student_model, _ = resolve_model_entry(
            cfg.model.student.to_dict() if hasattr(cfg.model.student,
                                                   'to_dict') else
            dict(cfg.model.student), 'student')
        out_cfg = args.config_out or osp.splitext(args.out)[0] + '_config.py'
        student_config(cfg, student_model).dump(out_cfg)
        print(f'student config: {out_cfg}')


if __name__ == '__main__':
    main()
