# A distillation row of the CamVid CPU benchmark (./camvid_cpu.py): the
# width-32 teacher distilled into the width-8 student, both as trained alone
# by the benchmark, under the same protocol. A row adds its method's
# `distill` section (../distill/<method>.py) and sets
# model = dict(distill=_base_.distill).
_base_ = ['./camvid_cpu.py']
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/../../benchmarks/camvid_cpu/'
        'teacher_pspnet_r18-w32.py',
        checkpoint='checkpoints/camvid_cpu/teacher_pspnet_r18-w32.pth'),
    student=dict(
        config='{{fileDirname}}/../../benchmarks/camvid_cpu/'
        'baseline_pspnet_r18-w8.py'),
    # the evidence the benchmark keeps of what each term does to the
    # student: gradient cosines and norm ratios every 500 iterations (0.1 %
    # of the run, docs/benchmarks.md)
    distill=dict(monitor=dict(grad_cosine_interval=500)))
# log each iteration's values, not a moving mean over 10 entries: the
# runner averages them per 1000 iterations into the record, and a moving
# mean over the last 10 cosines would span 5000 iterations
log_processor = dict(by_epoch=False, window_size=1)
optim_wrapper = dict(constructor='DistillationOptimWrapperConstructor')
# as ../distill_runtime.py
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
custom_hooks = [dict(type='ExportStudentHook')]
