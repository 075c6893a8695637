# Copyright (c) mmseg_kd contributors. All rights reserved.
import copy

import pytest

import mmseg_kd  # noqa: F401  (registers everything)
from .data import (REPO, camvid_like_root, make_camvid_like, real_camvid_root,
                   set_camvid_like_root)

__all__ = ['REPO', 'camvid_like_root']

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


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


def fake_batch(batch_size: int = 2,
               size=(64, 64),
               num_classes: int = 11,
               seed: int = 0) -> dict:
    """A raw dataloader batch (uint8 images, label maps) as the probe's
    random batch, with the top 4 rows of every label map ignored (255)."""
    from mmseg_kd.apis.probe import random_batch
    batch = random_batch(size, batch_size, num_classes, seed)
    for sample in batch['data_samples']:
        sample.gt_sem_seg.data[:, :4] = 255
    return batch


@pytest.fixture
def fresh_message_hub(request):
    """A new current MessageHub, so no earlier Runner's iteration leaks in
    (models read the training iteration from the current hub)."""
    from mmengine.logging import MessageHub
    return MessageHub.get_instance(f'test-{request.node.name}-{id(request)}')


def _collect_mmengine_log(convert):
    """Collect what mmengine's current logger logs (print_log with
    logger='current') while the generator is suspended, each record as
    ``convert`` makes it."""
    import logging

    from mmengine.logging import MMLogger
    collected = []

    class Collect(logging.Handler):

        def emit(self, record):
            collected.append(convert(record))

    logger = MMLogger.get_current_instance()
    handler = Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield collected
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def mmengine_log():
    """The messages logged through mmengine's current logger (print_log
    with logger='current') during the test, as a list of strings."""
    yield from _collect_mmengine_log(lambda record: record.getMessage())


@pytest.fixture
def mmengine_log_levels():
    """Like :func:`mmengine_log`, as (level name, message) pairs."""
    yield from _collect_mmengine_log(lambda record:
                                     (record.levelname, record.getMessage()))


@pytest.fixture
def mmseg_scope():
    """Run the test in mmseg's registry scope, as a runner would."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


@pytest.fixture(scope='session', autouse=True)
def _camvid_like(tmp_path_factory):
    """Generate the miniature CamVid once per session (see tests/data.py)."""
    set_camvid_like_root(
        make_camvid_like(str(tmp_path_factory.mktemp('camvid_like'))))


@pytest.fixture
def camvid_like():
    """The generated miniature CamVid's root."""
    return camvid_like_root()


@pytest.fixture
def real_camvid():
    """The real CamVid's root; skips when it is absent."""
    root = real_camvid_root()
    if root is None:
        pytest.skip('real CamVid absent (set CAMVID_ROOT or put it at '
                    '../shared/data/camvid)')
    return root
