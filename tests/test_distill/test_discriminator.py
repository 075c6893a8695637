# Copyright (c) mmseg_kd contributors. All rights reserved.
import pytest
import torch
from torch.nn.utils import parametrize

from mmseg_kd.distill import SAGANDiscriminator, SelfAttention2d


def test_shapes_of_the_skd_geometry():
    d = SAGANDiscriminator(19, base_channels=8)
    assert d(torch.randn(2, 19, 65, 65)).shape == (2, 1, 1, 1)
    # CIRKD's 512x1024 crops: 64x128 logits give a 1x5 score map
    assert d(torch.randn(2, 19, 64, 128)).shape == (2, 1, 1, 5)
    # small maps are padded up to min_size
    assert d(torch.randn(2, 19, 12, 12)).shape == (2, 1, 1, 1)


def test_spectral_norm_on_the_strided_convs_only():
    torch.manual_seed(0)
    d = SAGANDiscriminator(5, base_channels=4)
    for layer in (d.l1, d.l2, d.l3, d.l4):
        assert parametrize.is_parametrized(layer[0], 'weight')
    assert not parametrize.is_parametrized(d.last, 'weight')
    d.train()
    x = torch.randn(1, 5, 16, 16)
    for _ in range(100):  # one power iteration per forward: sigma(W) -> 1
        d(x)
    for layer in (d.l1, d.l2, d.l3, d.l4):
        w = layer[0].weight.flatten(1)
        assert torch.linalg.matrix_norm(
            w, ord=2).item() == pytest.approx(
                1.0, abs=1e-2)


def test_preprocessing_modes():
    logits = torch.randn(2, 4, 16, 16) * 10
    bn = SAGANDiscriminator(4, 4)
    assert isinstance(bn.norm, torch.nn.BatchNorm2d)
    tanh = SAGANDiscriminator(4, 4, preprocess='tanh')
    assert torch.equal(tanh.preprocess(logits), torch.tanh(logits))
    img = SAGANDiscriminator(7, 4, preprocess='softmax_image')
    image = torch.randn(2, 3, 64, 64)
    x = img.preprocess(logits, image)
    assert x.shape == (2, 7, 16, 16)
    assert torch.allclose(x[:, 3:].sum(1), torch.ones(2, 16, 16))
    with pytest.raises(ValueError, match='image'):
        img.preprocess(logits)
    with pytest.raises(ValueError, match='input channels'):
        SAGANDiscriminator(5, 4)(logits)
    with pytest.raises(ValueError, match='preprocess'):
        SAGANDiscriminator(4, 4, preprocess='sigmoid')


def test_self_attention_starts_as_identity_and_mixes_positions():
    attn = SelfAttention2d(16)
    x = torch.randn(2, 16, 3, 4)
    assert torch.equal(attn(x), x)
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    y = attn(x)
    x2 = x.clone()
    x2[:, :, 0, 0] += 1.0  # one position changes every output position
    assert (attn(x2) - y)[:, :, 2, 3].abs().sum() > 0
