# Copyright (c) mmseg_kd contributors. All rights reserved.
import contextlib
import os
import os.path as osp
from typing import Optional

from mmengine.dist import (all_gather_object, get_rank, get_world_size,
                           is_main_process)
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from ...utils import safe_checkpoint_loading
from ...utils.random_state import all_random_states, set_random_state

#: the key of the random states in a checkpoint's ``meta``
RANDOM_STATES = 'random_states'


@HOOKS.register_module()
class ResumableCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with two more guarantees, so that an
    interrupted run resumes exactly and never loses its last checkpoint.

    * Random state: every checkpoint holds the random generators of every
      rank (torch CPU and CUDA, numpy, Python ``random``), gathered when
      it is written. On resume, each rank's state is restored at the first
      iteration, so dropout, random losses and data augmentation draw what
      the uninterrupted run drew. With ``num_workers=0`` the data pipeline
      runs in the main process and mmengine replays it on resume (it
      advances the dataloader batch by batch), which brings numpy's and
      Python's generators back by itself: then only torch's are restored.
      A run resumed on a different number of ranks keeps fresh generators
      (with a warning).
    * Atomic files: a checkpoint is written under a temporary name and
      renamed when complete; checkpoints beyond ``max_keep_ckpts`` are
      deleted only after that. A kill at any moment leaves at least one
      complete checkpoint to resume from (local disks; other storage
      backends write as mmengine does).

    * Safe loading: for the duration of the run (``before_run`` to
      ``after_run``), mmengine reads ``load_from`` and resume checkpoints
      with :func:`~mmseg_kd.utils.load_checkpoint_file` (weights only, an
      explicit minimal allow-list; see :mod:`mmseg_kd.utils.checkpoint`),
      which also reads mmengine's own training checkpoints under torch >=
      2.6.

    ``tools/train.py`` uses it in place of ``CheckpointHook``; all of
    ``CheckpointHook``'s arguments apply.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pending_state: Optional[dict] = None
        self._pending_iter: Optional[int] = None
        self._loading = contextlib.ExitStack()

    def before_run(self, runner: Runner) -> None:
        super().before_run(runner)
        # the runner loads init_cfg (pretrained) weights in the same block
        role = 'init_cfg or ' + ('resume'
                                 if runner.cfg.get('resume') else 'load_from')
        self._loading.enter_context(safe_checkpoint_loading(role))

    def after_run(self, runner: Runner) -> None:
        self._loading.close()
        super().after_run(runner)

    # ------------------------------------------------------------- restore
    def before_train(self, runner: Runner) -> None:
        """Besides mmengine's set-up: every rank must start from the same
        iteration (a node without the checkpoint would start from scratch
        and deadlock the others later)."""
        super().before_train(runner)
        if get_world_size() == 1:
            return
        iters = all_gather_object(runner.iter)
        if len(set(iters)) > 1:
            raise RuntimeError(
                f'The ranks start from different iterations {iters} (rank '
                'order): resuming needs the same checkpoint on every node. '
                'Use a work dir shared by all nodes, or copy the checkpoint '
                'to each node and pass it explicitly: --resume PATH.')

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        super().after_load_checkpoint(runner, checkpoint)
        meta = checkpoint.get('meta') or {}
        states = meta.get(RANDOM_STATES)
        if not states:
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'The checkpoint holds the random states of {len(states)} '
                f'ranks and this run has {get_world_size()}: they are not '
                'restored, so the resumed run draws other random numbers '
                'than the interrupted one would have.')
            return
        self._pending_state = states[get_rank()]
        self._pending_iter = meta.get('iter')

    def before_train_iter(self,
                          runner: Runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Restore the random state at the first iteration of a resumed
        run (after mmengine has advanced the dataloader)."""
        state, at = self._pending_state, self._pending_iter
        self._pending_state = self._pending_iter = None
        if state is None or at is None or runner.iter != at or at == 0:
            return  # not a resume (e.g. load_from), or nothing saved
        workers = runner.train_dataloader.num_workers
        set_random_state(state, host=workers > 0)

    # --------------------------------------------------------------- save
    def _save_checkpoint_with_step(self, runner: Runner, step: int,
                                   meta: dict) -> None:
        meta = dict(meta, **{RANDOM_STATES: all_random_states()})
        if not isinstance(self.file_backend, LocalBackend):
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        stale = []
        # (keep_ckpt_ids exists with max_keep_ckpts > 0: a deque of that
        # length; a step saved twice, as last and best, counts once)
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids[0])
            self.keep_ckpt_ids.append(step)  # drops the oldest
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = filename + '.partial'
        runner.save_checkpoint(
            self.out_dir,
            partial,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        os.replace(osp.join(self.out_dir, partial), self.last_ckpt)
        with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
            f.write(self.last_ckpt)
        for old in stale:
            path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.remove(path)
