# Demo distillation: the width-32 teacher into the width-8 student with
# pixel-wise KD and channel-wise distillation (CWD) on the logits, same
# schedule as the student trained alone.
_base_ = [
    '../_base_/datasets/synthetic_shapes.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_demo.py'
]
randomness = dict(seed=0)
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='{{fileDirname}}/pspnet_r18-w32-d8_600it_shapes-96x96.py',
        # tools/demo.py points this at the teacher it has just trained
        checkpoint='work_dirs/demo/teacher/iter_600.pth'),
    student=dict(
        config='{{fileDirname}}/pspnet_r18-w8-d8_600it_shapes-96x96.py'),
    distill=dict(
        student_tensors=dict(logits='decode_head.conv_seg'),
        teacher_tensors=dict(logits='decode_head.conv_seg'),
        losses=dict(
            loss_kd=dict(type='KDLoss', student='logits', teacher='logits',
                         tau=1.0, loss_weight=1.0),
            loss_cwd=dict(type='ChannelWiseDivergence', student='logits',
                          teacher='logits', tau=4.0, loss_weight=3.0)),
        probe_size=(96, 96)))
