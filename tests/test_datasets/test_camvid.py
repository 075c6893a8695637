# Copyright (c) mmseg_kd contributors. All rights reserved.
import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from ..conftest import camvid_root


def build(split, pipeline=()):
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(type='CamVidDataset', data_root=camvid_root(),
             data_prefix=dict(img_path=f'img_dir/{split}',
                              seg_map_path=f'ann_dir/{split}'),
             pipeline=list(pipeline)))


def test_segnet_split_sizes_and_classes():
    sizes = {split: len(build(split)) for split in ('train', 'val', 'test')}
    assert sizes == dict(train=367, val=101, test=233)
    meta = build('val').metainfo
    assert len(meta['classes']) == 11 and len(meta['palette']) == 11
    assert meta['classes'][3] == 'Road'


def test_samples_load_with_mmseg_pipeline():
    ds = build('val', [dict(type='LoadImageFromFile'),
                       dict(type='LoadAnnotations'),
                       dict(type='PackSegInputs')])
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 360, 480)
    labels = np.unique(sample['data_samples'].gt_sem_seg.data.numpy())
    assert set(labels.tolist()) <= set(range(11)) | {255}
