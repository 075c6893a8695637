# SKD (Liu et al., "Structured Knowledge Distillation for Semantic
# Segmentation", CVPR 2019 / TPAMI 2020), pixel-wise + pair-wise terms only
# (no holistic/adversarial term), PSPNet-R101 -> PSPNet-R18 on CamVid, with
# the reference master script's settings (../_base_/distill/skd_pixel_pair.py):
#   * pixel-wise: soft-target cross-entropy on the main logits, summed over
#     the batch and averaged over pixels (reduction='batch_sum'; here 2
#     images per GPU, like a DataParallel chunk of the reference),
#     loss_weight 10. Its strength grows with the images per GPU: with more
#     images per GPU or a higher lr, scale loss_weight down (at 8 images and
#     lr 0.05 it collapses the student: docs/benchmarks.md, quality on
#     CamVid);
#   * pair-wise: max-pool the PSP module output (decode_head.bottleneck,
#     512 channels in R101, 128 in R18) with kernel floor(0.5*45) = 22 into a
#     3x3 graph, detached-norm cosine similarities, MSE mean over node pairs
#     and batch, loss_weight 0.5.
# Published (Cityscapes val, 512x512, 40k): 69.10 -> 71.78 mIoU with
# pixel-wise + pair-wise (74.08 with the holistic term), SKD README.
# Train the teacher first with
#   distillation_configs/baselines/pspnet_r101-d8_4xb2-40k_camvid-360x360.py
# and put its checkpoint at the path below (or pass
# --cfg-options model.teacher.checkpoint=PATH).
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_camvid.py',
    '../_base_/distill/skd_pixel_pair.py', '../_base_/datasets/camvid.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
