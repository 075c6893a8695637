# DIST (Huang et al., NeurIPS 2022; hunto/DIST_KD segmentation/, a
# CIRKD-based code base): 1 - Pearson correlation of the class
# probabilities per pixel (inter) + 1 - Pearson correlation of each class's
# probabilities over the pixels of the per-GPU batch (intra),
# beta = gamma = 1, tau = 1, on the main logits (decode_head.conv_seg,
# loss_weight lambda = 1) and on the auxiliary FCN head's logits
# (auxiliary_head.conv_seg, loss_weight 0.4 * lambda), as the reference's
# CE(main) + 0.4 CE(aux) + lambda DIST(main) + 0.4 lambda DIST(aux).
# The intra term depends on the per-GPU batch (the reference used 2 images
# per GPU). A student without an auxiliary head: drop loss_dist_aux and the
# aux_logits tensors.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
    student_tensors=dict(
        logits='decode_head.conv_seg', aux_logits='auxiliary_head.conv_seg'),
    teacher_tensors=dict(
        logits='decode_head.conv_seg', aux_logits='auxiliary_head.conv_seg'),
    losses=dict(
        loss_dist=dict(
            type='DISTLoss', student='logits', teacher='logits', tau=1.0,
            beta=1.0, gamma=1.0, loss_weight=1.0),
        loss_dist_aux=dict(
            type='DISTLoss', student='aux_logits', teacher='aux_logits',
            tau=1.0, beta=1.0, gamma=1.0, loss_weight=0.4)))
