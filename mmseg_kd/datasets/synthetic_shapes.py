# Copyright (c) mmseg_kd contributors. All rights reserved.
"""A procedurally generated segmentation dataset, so that the demo and the
tests need nothing downloaded.

Each image shows a few filled shapes (disk, square, triangle, ring, cross) in
random colours over a noisy colour-gradient background; the label of a pixel
is the shape class drawn on top there (0 = background). Colour carries no
class information, so a model must recognise shape, i.e. use context.
"""
import os
import os.path as osp
from typing import Tuple

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

CLASSES = ('background', 'disk', 'square', 'triangle', 'ring', 'cross')
PALETTE = [[0, 0, 0], [220, 20, 60], [0, 142, 70], [250, 170, 30],
           [70, 130, 180], [153, 50, 204]]


def _draw_shape(mask: np.ndarray, kind: int, cx: int, cy: int, r: int,
                angle: float) -> None:
    """Draw shape ``kind`` (1..5) into the uint8 ``mask`` as 1s."""
    if kind == 1:  # disk
        cv2.circle(mask, (cx, cy), r, 1, -1)
    elif kind in (2, 3):  # square / triangle, rotated
        n = 4 if kind == 2 else 3
        rr = r * (1.2 if kind == 2 else 1.35)
        pts = [(cx + rr * np.cos(angle + 2 * np.pi * i / n),
                cy + rr * np.sin(angle + 2 * np.pi * i / n)) for i in range(n)]
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    elif kind == 4:  # ring
        cv2.circle(mask, (cx, cy), r, 1, max(2, r // 3))
    elif kind == 5:  # cross
        w = max(2, r // 3)
        rot = cv2.getRotationMatrix2D((float(cx), float(cy)),
                                      np.degrees(angle), 1.0)
        bars = np.zeros_like(mask)
        cv2.rectangle(bars, (cx - r, cy - w), (cx + r, cy + w), 1, -1)
        cv2.rectangle(bars, (cx - w, cy - r), (cx + w, cy + r), 1, -1)
        bars = cv2.warpAffine(
            bars, rot, mask.shape[::-1], flags=cv2.INTER_NEAREST)
        mask |= bars


def render_sample(rng: np.random.Generator,
                  size: int = 96,
                  max_shapes: int = 4) -> Tuple[np.ndarray, np.ndarray]:
    """One (BGR uint8 image, uint8 label map) pair."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c0, c1 = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    direction = rng.uniform(0, 2 * np.pi)
    t = (np.cos(direction) * xx + np.sin(direction) * yy + 1) / 2
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    label = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(1, max_shapes + 1)):
        kind = int(rng.integers(1, len(CLASSES)))
        r = int(rng.integers(size // 10, size // 4))
        cx, cy = (int(v) for v in rng.integers(r // 2, size - r // 2, 2))
        mask = np.zeros((size, size), np.uint8)
        _draw_shape(mask, kind, cx, cy, r, float(rng.uniform(0, np.pi)))
        colour = rng.uniform(0, 255, 3)
        shade = 1 + 0.25 * rng.standard_normal((size, size, 1))
        img = np.where(mask[..., None] > 0, colour * shade, img)
        label[mask > 0] = kind
    img = img + rng.normal(0, 18, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label


def generate_shapes_dataset(root: str,
                            num_train: int = 400,
                            num_val: int = 100,
                            size: int = 96,
                            seed: int = 0) -> str:
    """Write the dataset under ``root`` in mmseg layout (``img_dir/{train,
    val}/*.png``, ``ann_dir/{train,val}/*.png``). Deterministic in ``seed``;
    an existing complete copy is reused."""
    done = osp.join(root, f'.complete_{num_train}_{num_val}_{size}_{seed}')
    if osp.exists(done):
        return root
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, 'img_dir', split), exist_ok=True)
        os.makedirs(osp.join(root, 'ann_dir', split), exist_ok=True)
        for i in range(count):
            img, label = render_sample(rng, size)
            name = f'{split}_{i:05d}.png'
            cv2.imwrite(osp.join(root, 'img_dir', split, name), img)
            cv2.imwrite(osp.join(root, 'ann_dir', split, name), label)
    open(done, 'w').close()
    return root


@DATASETS.register_module()
class SyntheticShapesDataset(BaseSegDataset):
    """The generated shapes dataset (see :func:`generate_shapes_dataset`):
    6 classes, PNG images and labels."""

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('img_suffix', '.png')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(**kwargs)
