# CIRKD (Yang et al., CVPR 2022; winycg/CIRKD): pixel-wise KD (./kd.py:
# tau 1, weight 1), mini-batch pixel-to-pixel (weight 1, tau 0.1) and
# memory pixel-to-pixel / pixel-to-region (0.1 each; memories of 20000
# pixel and 2000 region embeddings, contrast tau 0.1) on the head feature.
# Head feature: the input of decode_head.conv_seg (after ASPP, 3x3 conv, BN,
# ReLU and dropout in mmseg's DeepLabV3). The mini-batch loss compares
# per-network hw x hw similarities and the memory loss projects the student
# feature to the teacher's width with its own head, so no connector is
# needed (for any widths).
# CIRKDMemoryLoss needs the dataset's class count: a config sets it with
#   distill.losses.loss_memory.num_classes = K
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
_base_ = ['./kd.py']
# the head feature: the input of the classifier
feat = dict(path='decode_head.conv_seg', side='input')
distill = dict(
    student_tensors=dict(feat=feat),
    teacher_tensors=dict(feat=feat),
    losses=dict(
        loss_minibatch=dict(
            type='CIRKDMiniBatchLoss', student='feat', teacher='feat',
            tau=0.1, loss_weight=1.0),
        loss_memory=dict(
            type='CIRKDMemoryLoss', student='feat', teacher='feat',
            pixel_memory_size=20000, region_memory_size=2000,
            contrast_tau=0.1, pixel_weight=0.1, region_weight=0.1)))
