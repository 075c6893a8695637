# CGD (wzpscott/SegDistill, table 5), SegFormer-B3 -> Swin-T UPerNet on
# ADE20K 512x512: CGD as
# ./cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py
# (group_size 10, tau 2, loss_weight 3, logits resized to the labels,
# shuffle every 1000 iterations) on decode_head.conv_seg of UPerHead (1/4
# resolution, 150 classes, like SegFormer's), with the student's own mmseg
# config (swin-tiny-patch4-window7-in1k-pre_upernet, ImageNet-1k-pretrained
# Swin-T loaded by init_weights, FCN auxiliary head CE 0.4) and its own
# AdamW recipe (lr 6e-5, wd 0.01, no decay on position/bias tables and
# norms, no head lr multiplier, warm-up 1500 + poly 1.0, 160k, 8 GPUs x 2).
# Published (SegDistill README table 5, ADE20K val; teacher SegFormer-B3
# 50.0): Swin-T UPerNet 44.21 -> 45.84 (CGD+WS 46.83; add the weight
# schedule of ./cgd-ws_*.py for it). mmseg's Swin-T UPerNet baseline: 44.41.
# Teacher: mmseg's model-zoo SegFormer-B3 (160k; 47.82 val),
# segformer_mit-b3_512x512_160k_ade20k_20210726_081410-962b98d2.pth,
# downloaded from download.openmmlab.com.
#   tools/dist_train.sh distillation_configs/cgd/cgd_segformer_mit-b3_swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py 8
_base_ = ['./cgd_segformer_mit-b3_segformer_mit-b0_8xb2-160k_ade20k-512x512.py']
model = dict(
    student=dict(
        config='mmseg::swin/'
        'swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'
    ))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }))
