# Cityscapes with 512x512 training crops: the protocol of SKD, IFVD and CWD
# (PSPNet-R101 -> PSPNet-R18, batch 8, 40k iterations). mmseg's Cityscapes
# base with its random rescaling of the 2048x1024 images (ratio 0.5-2.0),
# 512x512 random crops, flip and photometric distortion; evaluation on the
# whole 2048x1024 image, as mmseg's. (The reference scripts rescale with
# factors 0.5-2.0 and mirror too; IFVD's README command leaves both off.)
# The models' data_preprocessor needs size=(512, 512) as well (see
# ../models/distill_pspnet_r101-d8_pspnet_r18-d8_cityscapes-512x512.py).
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
