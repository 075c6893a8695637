# Copyright (c) mmseg_kd contributors. All rights reserved.
from mmengine.hooks import Hook, LoggerHook
from mmengine.runner import Runner
from mmseg.registry import HOOKS


@HOOKS.register_module()
class LogFirstIterationHook(Hook):
    """Logs the first iteration of a run (started or resumed) as the
    ``LoggerHook`` logs every ``interval``-th: with the shipped interval of
    50 a short run, or a run that fails early, would otherwise print no
    loss at all. ``tools/train.py`` adds it."""

    priority = 'BELOW_NORMAL'

    def before_train(self, runner: Runner) -> None:
        # the iteration this run starts at (0, or where it resumed), kept
        # as mmengine's IterTimerHook keeps its ``start_iter``
        self.start_iter = runner.iter

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter != self.start_iter:
            return
        interval = next(
            (h.interval for h in runner.hooks if isinstance(h, LoggerHook)), 1)
        if interval > 1:  # otherwise LoggerHook logs it already
            _, text = runner.log_processor.get_log_after_iter(
                runner, batch_idx, 'train')
            runner.logger.info(text)
