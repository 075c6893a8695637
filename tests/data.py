# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Data the tests make themselves, and the real CamVid when it is present.

Tests of behaviour (runner, resume, DDP, export, visualisation, the CamVid
dataset class and configs) run on :func:`make_camvid_like`: a miniature
folder in CamVid's layout (``img_dir/{train,val,test}/*.jpg``,
``ann_dir/{train,val,test}/*.png``), class list and ignore value (255),
generated on the fly. Tests that are about the real data set use the
``real_camvid`` fixture, which skips with one line when it is absent.
"""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from mmseg_kd.datasets.synthetic_shapes import render_sample

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
NUM_CAMVID_CLASSES = 11
CAMVID_SPLITS = dict(train=8, val=3, test=3)
_camvid_like = []


def set_camvid_like_root(root: str) -> None:
    """Record where the session's miniature CamVid is (conftest does)."""
    _camvid_like[:] = [root]


def camvid_like_root() -> str:
    """The session's miniature CamVid (made by conftest's fixture)."""
    if not _camvid_like:
        raise RuntimeError('the miniature CamVid is made by the session '
                           'fixture in tests/conftest.py')
    return _camvid_like[0]


def real_camvid_root() -> Optional[str]:
    """$CAMVID_ROOT, else ../shared/data/camvid, when it holds CamVid;
    None otherwise."""
    root = os.environ.get('CAMVID_ROOT') or osp.join(REPO, '..', 'shared',
                                                     'data', 'camvid')
    root = osp.abspath(root)
    return root if osp.isdir(osp.join(root, 'img_dir', 'train')) else None


def make_camvid_like(root: str,
                     splits: Dict[str, int] = CAMVID_SPLITS,
                     size: Tuple[int, int] = (120, 90),
                     seed: int = 0) -> str:
    """Write a miniature CamVid under ``root`` and return ``root``.

    Each image shows shapes over a noisy background (see
    :mod:`mmseg_kd.datasets.synthetic_shapes`); the label of a shape pixel
    is a CamVid class chosen per shape kind and image, the background is
    one of the classes as well, and a band at the bottom is void (255), as
    CamVid's unlabelled pixels are. Images are JPEG, labels uint8 PNG.

    Args:
        root (str): Output folder.
        splits (dict): Images per split.
        size (tuple): (width, height), CamVid's 4:3 by default.
        seed (int): Everything is deterministic in it.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    for split, count in splits.items():
        img_dir = osp.join(root, 'img_dir', split)
        ann_dir = osp.join(root, 'ann_dir', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(count):
            img, kinds = render_sample(rng, max(size))
            img, kinds = img[:height, :width], kinds[:height, :width]
            classes = rng.permutation(NUM_CAMVID_CLASSES)
            label = classes[kinds].astype(np.uint8)
            label[-max(2, height // 12):] = 255
            name = f'{split}_{i:04d}'
            cv2.imwrite(
                osp.join(img_dir, name + '.jpg'), img,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(ann_dir, name + '.png'), label)
    return root
