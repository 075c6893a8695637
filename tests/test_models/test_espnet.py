# Copyright (c) mmseg_kd contributors. All rights reserved.
"""ESPNet (Mehta et al., ECCV 2018) as an mmseg model: the ESP module, the
ESPNet-C backbone and the ESPNet decode head; the paper's parameter count;
training and prediction through mmseg's EncoderDecoder."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS

import mmseg_kd.models  # noqa: F401  (registers ESPNetC, ESPNetHead)
from mmseg_kd.models import ESPBlock, ESPNetC, ESPNetHead
from ..conftest import MEAN, STD, build_mmseg, fake_batch

# ESPNet on Cityscapes (19 classes): 0.364 M parameters in the paper.
PAPER_PARAMS = 0.364e6
# This implementation: ESPNet-C (alpha2=2, alpha3=8, K=5) and its decoder.
BACKBONE_PARAMS = 344_329
ESPNET_PARAMS = {19: 363_462, 11: 353_437}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def espnet(num_classes: int = 11, size=(64, 64)) -> ConfigDict:
    """An ESPNet EncoderDecoder config (the paper's architecture), as a
    ``ConfigDict`` as from a config file (mmseg reads ``test_cfg.mode``)."""
    return ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size=size),
        backbone=dict(type='ESPNetC'),
        decode_head=dict(
            type='ESPNetHead',
            in_channels=(19, 131, 256),
            in_index=(0, 1, 2),
            num_classes=num_classes,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_registered_in_mmseg():
    assert MODELS.get('ESPNetC') is ESPNetC
    assert MODELS.get('ESPNetHead') is ESPNetHead


def test_esp_block_hierarchical_fusion_and_residual():
    block = ESPBlock(40, 40).eval()  # d = 8, branch widths 8 each
    assert block.residual
    assert [b.dilation[0] for b in block.branches] == [1, 2, 4, 8, 16]
    outs, merged = [], []
    for branch in block.branches:
        branch.register_forward_hook(lambda m, i, o: outs.append(o))
    block.norm_act.register_forward_hook(lambda m, i, o: merged.append(i[0]))
    x = torch.randn(2, 40, 9, 11)
    y = block(x)
    assert y.shape == x.shape
    o1, o2, o4, o8, o16 = outs
    hff = torch.cat([o1, o2, o2 + o4, o2 + o4 + o8, o2 + o4 + o8 + o16], dim=1)
    torch.testing.assert_close(merged[0], hff + x)


def test_esp_block_channel_split_and_strided_variant():
    block = ESPBlock(19, 64, stride=2)  # d = 12, first branch 64 - 48 = 16
    assert not block.residual
    assert block.reduce.kernel_size == (3, 3) and block.reduce.stride == (2, 2)
    assert [b.out_channels for b in block.branches] == [16, 12, 12, 12, 12]
    assert block(torch.randn(1, 19, 25, 33)).shape == (1, 64, 13, 17)
    assert ESPBlock(38, 19, residual=False).reduce.kernel_size == (1, 1)
    with pytest.raises(ValueError, match='residual'):
        ESPBlock(38, 19, residual=True)
    with pytest.raises(ValueError, match='at least 5'):
        ESPBlock(8, 4)


@pytest.mark.parametrize('size, levels', [
    ((360, 480), [(180, 240), (90, 120), (45, 60)]),
    ((97, 131), [(49, 66), (25, 33), (13, 17)]),
])
def test_backbone_and_head_shapes(size, levels):
    backbone = ESPNetC().eval()
    head = ESPNetHead(num_classes=11).eval()
    assert backbone.out_channels == (19, 131, 256)
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, *size))
        logits = head(feats)
    assert isinstance(feats, tuple)
    assert [tuple(f.shape[1:]) for f in feats
            ] == [(c, ) + hw for c, hw in zip((19, 131, 256), levels)]
    # Full resolution, rounded up to even: 2 * ceil(H / 2).
    assert logits.shape == (1, 11, 2 * levels[0][0], 2 * levels[0][1])


def test_parameter_count_matches_paper():
    counts = {}
    for classes in (19, 11):
        model = build_mmseg(espnet(classes))
        counts[classes] = count(model)
        assert count(model.backbone) == BACKBONE_PARAMS
    print(f'ESPNet parameters: {counts}')
    assert abs(counts[19] - PAPER_PARAMS) / PAPER_PARAMS < 0.03
    assert counts == ESPNET_PARAMS


def test_logits_recorded_at_conv_seg():
    model = build_mmseg(espnet(11)).eval()
    seen = []
    model.decode_head.conv_seg.register_forward_hook(
        lambda m, i, o: seen.append(o))
    with torch.no_grad():
        out = model(torch.randn(2, 3, 48, 64), mode='tensor')
    assert len(seen) == 1 and seen[0] is out
    assert out.shape == (2, 11, 48, 64)


def test_train_step_gradients_and_loss_decrease():
    model = build_mmseg(espnet(11, size=(64, 64)))
    model.train()
    batch = fake_batch(2, (64, 64), num_classes=11)
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}
    losses['decode.loss_ce'].backward()
    missing = [
        n for n, p in model.named_parameters()
        if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not missing, f'no gradient reaches {missing}'
    model.zero_grad()

    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=5e-3))
    values = [
        model.train_step(batch, optim)['decode.loss_ce'].item()
        for _ in range(6)
    ]
    assert all(torch.isfinite(torch.tensor(values)))
    assert all(b < a for a, b in zip(values, values[1:])), values


def test_train_and_predict_odd_size():
    size = (49, 67)
    model = build_mmseg(espnet(11, size=size))
    batch = fake_batch(2, size, num_classes=11)
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=5e-4))
    log = model.train_step(batch, optim)
    assert torch.isfinite(log['loss'])

    model.eval()
    with torch.no_grad():
        samples = model.test_step(batch)
        logits = model(model.data_preprocessor(batch)['inputs'], mode='tensor')
    assert logits.shape[-2:] == (50, 68)
    for i, sample in enumerate(samples):
        assert sample.pred_sem_seg.data.shape == (1, ) + size
        assert sample.seg_logits.data.shape == (11, ) + size
        # Cropped, not interpolated: the top-left H x W of the logits.
        torch.testing.assert_close(sample.seg_logits.data,
                                   logits[i, :, :size[0], :size[1]])


def test_predict_full_resolution():
    model = build_mmseg(espnet(11, size=(96, 128))).eval()
    batch = fake_batch(1, (96, 128), num_classes=11)
    with torch.no_grad():
        (sample, ) = model.test_step(batch)
    assert sample.pred_sem_seg.data.shape == (1, 96, 128)
    assert int(sample.pred_sem_seg.data.max()) < 11
