# Plain pixel-wise KD (Hinton et al., 2015, on every pixel of the logits):
# KL between the teacher's and the student's class distributions on
# decode_head.conv_seg's logits at temperature 1, mean over pixels,
# weight 1: CIRKD's KD term, which its tables add to every method
# (./at.py, ./fitnet.py, ./cirkd.py and ./kd_cwd_logits.py build on it).
#
# Every file in this folder holds one method's `distill` section (tensors,
# connectors, losses and their weights) as the variable `distill`. A config
# adds the file to its `_base_` list and sets
#   model = dict(distill=_base_.distill)
# (mmengine refuses two bases that both define `model`, so the section
# cannot be a `model` of its own next to the teacher/student base). A config
# that differs from the method's setting edits `distill` first, with a
# comment, e.g. distill.losses.loss_ifv.num_classes = 19.
distill = dict(
    student_tensors=dict(logits='decode_head.conv_seg'),
    teacher_tensors=dict(logits='decode_head.conv_seg'),
    losses=dict(
        loss_kd=dict(
            type='KDLoss', student='logits', teacher='logits', tau=1.0,
            loss_weight=1.0)))
