# Teacher SegFormer-MiT-B3 and student SegFormer-MiT-B0 on ADE20K (512x512),
# the pair of SegDistill's (CGD) table 5; both mmseg's own models:
# * teacher: mmseg's model-zoo SegFormer-B3 (160k, 8x2), 47.82 mIoU on ADE20K
#   val, downloaded from the URL below (SegDistill's teacher,
#   segformer.b3.512x512.ade.160k.pth of the SegFormer release: 50.0);
# * student: mmseg's SegFormer-B0, its MiT-B0 encoder initialised from the
#   ImageNet weights named in mmseg's config (mit_b0_20220624-7e0fe6dd.pth,
#   loaded by init_weights). Other students: override model.student.config.
# Logits: the output of decode_head.conv_seg (1/4 resolution, 150 classes)
# for SegformerHead and UPerHead alike (SegDistill hooks linear_pred, its
# mmseg 0.x name).
# A method config adds a method's `distill` section (../distill/), the
# dataset, runtime and schedule (../schedules/schedule_160k_adamw.py: the
# student's own AdamW recipe).
model = dict(
    type='DistillationSegmentor',
    teacher=dict(
        config='mmseg::segformer/segformer_mit-b3_8xb2-160k_ade20k-512x512.py',
        checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/'
        'segformer/segformer_mit-b3_512x512_160k_ade20k/'
        'segformer_mit-b3_512x512_160k_ade20k_20210726_081410-962b98d2.pth'),
    student=dict(
        config='mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py'
    ))
