# DIST (Huang et al., NeurIPS 2022; hunto/DIST_KD segmentation/),
# PSPNet-R101 -> PSPNet-R18 on Cityscapes with the SKD/IFVD/CWD protocol
# (512x512 crops, batch 8 = 4 GPUs x 2, 40k iterations, SGD lr 0.01, wd
# 5e-4): inter- and intra-class Pearson correlation terms, beta = gamma = 1,
# tau = 1, on the main logits (decode_head.conv_seg, loss_weight 1) and on
# the auxiliary FCN head's logits (auxiliary_head.conv_seg, 0.4), as the
# reference's CE + 0.4 CE_aux + DIST(main) + 0.4 DIST(aux):
# ../_base_/distill/dist.py.
# Published: none for this teacher and protocol. DIST's PSPNet-R18 result
# (Cityscapes val, 72.55 -> 76.31) distilled from a DeepLabV3-R101 teacher
# (78.07) with CIRKD's protocol (512x1024, 40k, 8 GPUs x 2, SGD 0.02,
# wd 5e-4); see ./dist_deeplabv3_r101-d8_deeplabv3_r18-d8_8xb2-40k_cityscapes-512x1024.py
# for that protocol. Baseline to compare with here: PSPNet-R18 69.10
# (SKD/CWD papers, this protocol).
# Teacher: mmseg's model-zoo PSPNet-R101-d8 (80k, 512x1024; 79.76 val),
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py).
#   tools/dist_train.sh distillation_configs/dist/dist_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/distill/dist.py', '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
model = dict(distill=_base_.distill)
