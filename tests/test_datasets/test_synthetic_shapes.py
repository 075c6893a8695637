# Copyright (c) mmseg_kd contributors. All rights reserved.
import os

import cv2
import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from mmseg_kd.datasets import generate_shapes_dataset
from mmseg_kd.datasets.synthetic_shapes import CLASSES, render_sample


def test_generation_is_deterministic_and_valid(tmp_path):
    a = generate_shapes_dataset(str(tmp_path / 'a'), 6, 2, size=48, seed=3)
    b = generate_shapes_dataset(str(tmp_path / 'b'), 6, 2, size=48, seed=3)
    names = sorted(os.listdir(os.path.join(a, 'ann_dir', 'train')))
    assert len(names) == 6
    for name in names:
        for kind in ('img_dir', 'ann_dir'):
            x = cv2.imread(
                os.path.join(a, kind, 'train', name), cv2.IMREAD_UNCHANGED)
            y = cv2.imread(
                os.path.join(b, kind, 'train', name), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(x, y)
        label = cv2.imread(
            os.path.join(a, 'ann_dir', 'train', name), cv2.IMREAD_UNCHANGED)
        assert label.dtype == np.uint8 and label.max() < len(CLASSES)
        assert (label > 0).any(), 'every image shows at least one shape'
    init_default_scope('mmseg')
    ds = DATASETS.build(
        dict(
            type='SyntheticShapesDataset',
            data_root=a,
            data_prefix=dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val')))
    assert len(ds) == 2 and ds.metainfo['classes'] == CLASSES


def test_every_shape_class_is_drawn():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        _, label = render_sample(rng, 64)
        seen |= set(np.unique(label).tolist())
    assert seen == set(range(len(CLASSES)))
