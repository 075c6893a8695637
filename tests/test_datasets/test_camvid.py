# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from ..data import CAMVID_SPLITS


def build(root, split, pipeline=()):
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(
            type='CamVidDataset',
            data_root=root,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            pipeline=list(pipeline)))


LOAD = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def test_layout_classes_and_ignore_value(camvid_like):
    sizes = {split: len(build(camvid_like, split)) for split in CAMVID_SPLITS}
    assert sizes == CAMVID_SPLITS
    meta = build(camvid_like, 'val').metainfo
    assert len(meta['classes']) == 11 and len(meta['palette']) == 11
    assert meta['classes'][3] == 'Road'
    sample = build(camvid_like, 'val', LOAD)[0]
    assert tuple(sample['inputs'].shape) == (3, 90, 120)
    labels = set(
        np.unique(sample['data_samples'].gt_sem_seg.data.numpy()).tolist())
    assert labels <= set(range(11)) | {255} and 255 in labels


def test_real_segnet_split_sizes(real_camvid):
    sizes = {
        split: len(build(real_camvid, split))
        for split in ('train', 'val', 'test')
    }
    assert sizes == dict(train=367, val=101, test=233)


def test_real_samples_load_with_mmseg_pipeline(real_camvid):
    sample = build(real_camvid, 'val', LOAD)[0]
    assert tuple(sample['inputs'].shape) == (3, 360, 480)
    labels = np.unique(sample['data_samples'].gt_sem_seg.data.numpy())
    assert set(labels.tolist()) <= set(range(11)) | {255}
