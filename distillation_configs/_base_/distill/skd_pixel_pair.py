# SKD (Liu et al., "Structured Knowledge Distillation for Semantic
# Segmentation", CVPR 2019 / TPAMI 2020), pixel-wise + pair-wise terms only
# (no holistic/adversarial term: ./skd_pixel_pair_holistic.py), with the
# reference master script's settings:
#   * pixel-wise: soft-target cross-entropy on the main logits
#     (decode_head.conv_seg), summed over the batch and averaged over pixels
#     (reduction='batch_sum', like a DataParallel chunk of the reference),
#     loss_weight 10. Its strength grows with the images per GPU: with more
#     images per GPU or a higher lr, scale loss_weight down (at 8 images and
#     lr 0.05 it collapses the student: docs/benchmarks.md, quality on
#     CamVid);
#   * pair-wise: max-pool the PSP module output (decode_head.bottleneck,
#     512 channels in PSPNet-R101, 128 in R18) with kernel
#     floor(pool_scale * size) (pool_scale 0.5: 22 for CamVid's 45x45 maps)
#     into a 3x3 graph, detached-norm cosine similarities, MSE mean over
#     node pairs and batch, loss_weight 0.5.
# Use: model = dict(distill=_base_.distill) (see ./kd.py).
distill = dict(
    student_tensors=dict(
        logits='decode_head.conv_seg', feat='decode_head.bottleneck'),
    teacher_tensors=dict(
        logits='decode_head.conv_seg', feat='decode_head.bottleneck'),
    losses=dict(
        loss_skd_pixel=dict(
            type='SKDPixelWiseLoss',
            student='logits',
            teacher='logits',
            form='cross_entropy',
            reduction='batch_sum',
            loss_weight=10.0,
            # set for the reference's 2 images per GPU: another count
            # warns (on_batch_change='rescale' keeps the per-image strength)
            tuned_images_per_gpu=2),
        loss_skd_pair=dict(
            type='SKDPairWiseLoss',
            student='feat',
            teacher='feat',
            pool_scale=0.5,
            detach_norm=True,
            loss_weight=0.5)))
