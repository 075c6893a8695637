# DIST (Huang et al., NeurIPS 2022; hunto/DIST_KD segmentation/, a CIRKD-based
# code base), DeepLabV3-R101 -> DeepLabV3-R18 on Cityscapes with the
# reference's protocol: 512x1024 crops, batch 16 (8 GPUs x 2), 40k
# iterations, SGD lr 0.02, momentum 0.9, wd 5e-4, poly 0.9. Loss
# (../_base_/distill/dist.py): inter- and intra-class Pearson correlation
# terms, beta = gamma = 1, tau = 1, on the main logits (decode_head.conv_seg,
# loss_weight 1) and on the auxiliary FCN head's logits
# (auxiliary_head.conv_seg, 0.4): CE + 0.4 CE_aux + DIST(main) +
# 0.4 DIST(aux).
# Published (DIST README, Cityscapes val, teacher 78.07): DeepLabV3-R18
# 74.21 -> 77.10.
# Teacher: mmseg's model-zoo DeepLabV3-R101-d8 (80k, 512x1024; 80.20 val),
# deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_deeplabv3_r101-d8_deeplabv3_r18-d8_cityscapes.py);
# DIST's own teacher was 78.07.
# Differences: mmseg's models (DeepLabV3 head 512 channels wide in R101, 128
# in R18; CIRKD's code base uses 256/128) and mmseg's augmentation.
#   tools/dist_train.sh distillation_configs/dist/dist_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py 8
_base_ = [
    '../_base_/models/distill_deeplabv3_r101-d8_deeplabv3_r18-d8_cityscapes.py',
    '../_base_/distill/dist.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4))
model = dict(distill=_base_.distill)
