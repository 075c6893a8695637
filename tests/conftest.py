# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy
import os
import os.path as osp
import sys

import pytest
import torch

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import mmseg_kd  # noqa: E402,F401  (registers everything)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def camvid_root() -> str:
    """The CamVid copy: $CAMVID_ROOT, else ../shared/data/camvid."""
    root = os.environ.get('CAMVID_ROOT') or osp.join(
        REPO, '..', 'shared', 'data', 'camvid')
    root = osp.abspath(root)
    if not osp.isdir(osp.join(root, 'img_dir', 'train')):
        raise FileNotFoundError(
            f'CamVid not found at {root}: set CAMVID_ROOT to the folder with '
            'img_dir/ and ann_dir/ (see mmseg_kd/datasets/camvid.py).')
    return root


def tiny_segmentor(num_classes: int = 11,
                   width: int = 8,
                   aux: bool = True,
                   mean=MEAN,
                   std=STD,
                   size=(64, 64),
                   head: str = 'FCNHead') -> dict:
    """A small dilated ResNet-18 EncoderDecoder (output stride 8) that runs
    fast on a CPU; ``width`` scales its channels."""
    norm_cfg = dict(type='BN', requires_grad=True)
    model = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=mean,
            std=std,
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size=size),
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            stem_channels=width,
            base_channels=width,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True),
        decode_head=dict(
            type=head,
            in_channels=8 * width,
            in_index=3,
            channels=2 * width,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    if head == 'FCNHead':
        model['decode_head'].update(num_convs=1, concat_input=False)
    if head == 'PSPHead':
        model['decode_head'].update(pool_scales=(1, 2, 3, 6))
    if aux:
        model['auxiliary_head'] = dict(
            type='FCNHead',
            in_channels=4 * width,
            in_index=2,
            channels=width,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
    return model


def build_mmseg(cfg: dict):
    """MODELS.build in mmseg's registry scope (what a runner sets up)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def distill_model(teacher=None, student=None, losses=None, **distill) -> dict:
    """A DistillationSegmentor config over tiny models with logit KD."""
    cfg = dict(
        type='DistillationSegmentor',
        teacher=teacher or dict(model=tiny_segmentor(width=16)),
        student=student or dict(model=tiny_segmentor(width=8)),
        distill=dict(
            student_tensors=dict(logits='decode_head.conv_seg'),
            teacher_tensors=dict(logits='decode_head.conv_seg'),
            losses=losses or dict(
                loss_kd=dict(
                    type='KDLoss', student='logits', teacher='logits')),
            probe_size=(64, 64)))
    cfg['distill'].update(distill)
    return copy.deepcopy(cfg)


def fake_batch(batch_size: int = 2, size=(64, 64), num_classes: int = 11,
               seed: int = 0) -> dict:
    """A raw dataloader batch (uint8 images, label maps with some 255)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, ) + tuple(size), generator=gen,
                          dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, ) + tuple(size),
                              generator=gen)
        label[:, :4] = 255
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(
            dict(img_shape=tuple(size), ori_shape=tuple(size),
                 pad_shape=tuple(size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture
def fresh_message_hub(request):
    """A new current MessageHub, so no earlier Runner's iteration leaks in
    (models read the training iteration from the current hub)."""
    from mmengine.logging import MessageHub
    return MessageHub.get_instance(f'test-{request.node.name}-{id(request)}')


@pytest.fixture
def mmseg_scope():
    """Run the test in mmseg's registry scope, as a runner would."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


@pytest.fixture
def camvid():
    return camvid_root()
