# Copyright (c) mmseg_kd contributors. All rights reserved.
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from ...segmentors import DistillationSegmentor
from ...utils import unwrap
from ..export import dump_student_config, save_student


@HOOKS.register_module()
class ExportStudentHook(Hook):
    """Write the student alone at the end of training: a plain mmseg
    checkpoint (``student_final.pth``) and a config for it
    (``student_config.py``) in the work dir, ready for stock mmseg tools::

        python tools/test.py WORK_DIR/student_config.py \\
            WORK_DIR/student_final.pth

    ``tools/train.py`` adds this hook when a config does not list it.

    Args:
        filename (str): Checkpoint name. Defaults to ``'student_final.pth'``.
        config_filename (str): Config name, or None to skip the config.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 filename: str = 'student_final.pth',
                 config_filename: str = 'student_config.py') -> None:
        self.filename = filename
        self.config_filename = config_filename

    def after_train(self, runner: Runner) -> None:
        model = unwrap(runner.model)
        if not isinstance(model, DistillationSegmentor):
            runner.logger.warning('ExportStudentHook: the model is not a '
                                  'DistillationSegmentor; nothing exported.')
            return
        if not is_main_process():
            return
        meta = dict(iter=runner.iter, epoch=runner.epoch)
        dataset_meta = getattr(runner.train_dataloader.dataset, 'metainfo',
                               None)
        if dataset_meta is not None:
            meta['dataset_meta'] = dataset_meta
        path = save_student(model.state_dict(),
                            osp.join(runner.work_dir, self.filename), meta)
        msg = f'Exported the student to {path}'
        if self.config_filename:
            cfg_path = osp.join(runner.work_dir, self.config_filename)
            dump_student_config(runner.cfg, model.student_cfg, cfg_path)
            msg += f' (config: {cfg_path})'
        runner.logger.info(msg)
