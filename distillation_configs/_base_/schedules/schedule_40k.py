# 40k iterations, SGD lr 0.01, momentum 0.9, wd 5e-4, poly 0.9 down to 1e-4,
# validation every 4000 iterations (the SKD/IFVD/CWD/CIRKD protocol):
# mmseg's own 40k schedule with one change, its checkpoints (every 4000
# iterations) written by mmseg_kd's ResumableCheckpointHook (mmengine's
# CheckpointHook plus every rank's random state and atomic writes, so that
# an interrupted run resumes exactly), the last 3 kept.
_base_ = ['mmseg::_base_/schedules/schedule_40k.py']
default_hooks = dict(
    checkpoint=dict(type='ResumableCheckpointHook', max_keep_ckpts=3))
