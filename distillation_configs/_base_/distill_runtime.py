# Runtime of distillation configs.
_base_ = ['./default_runtime.py']
# DistillationSegmentor.train_step does the student update (and, with an
# adversarial loss, the discriminator update) itself; under DDP each trained
# part (student, distiller, discriminator) gets its own DDP wrapper so that
# this train_step runs. No unused parameters in the shipped configs.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
# Writes WORK_DIR/student_final.pth and WORK_DIR/student_config.py at the end.
custom_hooks = [dict(type='ExportStudentHook')]
