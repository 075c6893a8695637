# CGD, channel group distillation (wzpscott/SegDistill), PSPNet-R101 ->
# PSPNet-R18 on Cityscapes: CGD as ../_base_/distill/cgd.py (logits,
# decode_head.conv_seg at 1/8, of both networks resized bilinearly to the
# label size, 512x512 crops; tau 2, no tau^2 factor; loss_weight 3; the same
# random channel permutation on both sides every 1000th iteration) with
# channels in groups of 5 consecutive classes (SegDistill's PSPNet-R50
# setting; K = 19 is padded to 20 with a zero-probability channel), one
# distribution per (image, group) over its 5x512x512 entries.
# Protocol: the SKD/IFVD/CWD one of the other PSPNet-R18 Cityscapes configs
# (512x512 crops, batch 8 = 4 GPUs x 2, 40k iterations, SGD lr 0.01, wd
# 5e-4), so that CGD is compared with them on the same footing. SegDistill
# itself ran ADE20K with mmseg's 160k schedules; mmseg's Cityscapes
# 512x1024 80k recipe would also do (student config's own schedule).
# Published: none for Cityscapes. SegDistill (ADE20K val, SegFormer-B3
# teacher 50.0): PSPNet-R50 40.94 -> 43.61 (group_size 5); SegFormer-B0
# 38.0 -> 40.39; Swin-T UPerNet 44.21 -> 45.84. Baseline to compare with:
# PSPNet-R18 69.10 (SKD/CWD papers, this protocol).
# Teacher: mmseg's model-zoo PSPNet-R101-d8 (80k, 512x1024; 79.76 val),
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth,
# downloaded from download.openmmlab.com (URL in
# ../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py).
#   tools/dist_train.sh distillation_configs/cgd/cgd_pspnet_r101-d8_pspnet_r18-d8_4xb2-40k_cityscapes-512x512.py 4
_base_ = [
    '../_base_/models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py',
    '../_base_/distill/cgd.py', '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/distill_runtime.py', '../_base_/schedules/schedule_40k.py'
]
distill = _base_.distill
# groups of 5 classes (SegDistill's PSPNet setting), not the base's 10
distill.losses.loss_cgd.group_size = 5
model = dict(distill=distill)
