# Demo distillation: the width-32 teacher into the width-8 student with
# pixel-wise KD and channel-wise distillation (CWD) on the logits
# (../_base_/distill/kd_cwd_logits.py), same schedule (600 iterations) and
# seed as the student trained alone.
_base_ = [
    '../_base_/distill/kd_cwd_logits.py',
    '../_base_/datasets/synthetic_shapes.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_demo.py'
]
randomness = dict(seed=0)
distill = _base_.distill
distill.probe_size = (96, 96)
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/'
        'teacher_pspnet_r18-w32-d8_1200it_shapes-96x96.py',
        # tools/demo.py points this at the teacher it has just trained
        checkpoint='work_dirs/demo/teacher/iter_1200.pth'),
    student=dict(
        config='{{fileDirname}}/'
        'student-alone_pspnet_r18-w8-d8_600it_shapes-96x96.py'),
    distill=distill)
