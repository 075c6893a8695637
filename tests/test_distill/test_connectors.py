# Copyright (c) mmseg_kd contributors. All rights reserved.
import pytest
import torch

from mmseg_kd.distill import (ChannelConnector, ResizeConnector, TokensToMap,
                              build_connector)


def test_channel_connector_sized_from_probes():
    s, t = torch.randn(2, 8, 5, 5), torch.randn(2, 24, 5, 5)
    chain, out = build_connector(dict(type='ChannelConnector'), s, t)
    assert out.shape == t.shape
    conn = chain[0]
    assert (conn.in_channels, conn.out_channels) == (8, 24)
    assert conn.training, 'the connector must be left in train mode'
    # 1x1 conv without bias, then BatchNorm
    assert conn.proj.conv.kernel_size == (1, 1) and conn.proj.conv.bias is None
    assert isinstance(conn.proj.bn, torch.nn.BatchNorm2d)


def test_channel_connector_trains_and_rejects_tokens():
    conn = ChannelConnector(4, 6, norm_cfg=None)
    assert conn.proj.conv.bias is not None  # no norm: conv gets a bias
    out = conn(torch.randn(2, 4, 3, 3))
    out.sum().backward()
    assert conn.proj.conv.weight.grad is not None
    with pytest.raises(ValueError, match='TokensToMap'):
        conn(torch.randn(2, 9, 4))


def test_resize_connector_matches_target_at_run_time():
    conn = ResizeConnector()
    x = torch.randn(1, 3, 4, 4)
    assert conn(x, torch.randn(1, 7, 8, 6)).shape == (1, 3, 8, 6)
    assert conn(x, torch.randn(1, 7, 4, 4)) is x
    near = ResizeConnector(mode='nearest')(x, torch.randn(1, 1, 8, 8))
    assert torch.equal(near[:, :, ::2, ::2], x)


def test_tokens_to_map_layout_and_grid():
    b, h, w, c = 2, 3, 4, 5
    fmap = torch.randn(b, c, h, w)
    tokens = fmap.flatten(2).transpose(1, 2)  # (B, N, C), row-major
    assert torch.equal(TokensToMap(hw=(h, w))(tokens), fmap)
    # grid taken from the partner map: same size, or same aspect ratio
    assert torch.equal(TokensToMap()(tokens, torch.randn(1, 9, h, w)), fmap)
    assert TokensToMap()(tokens, torch.randn(1, 9, 6, 8)).shape == (b, c, h, w)
    with_cls = torch.cat([torch.randn(b, 1, c), tokens], 1)
    assert torch.equal(
        TokensToMap(hw=(h, w), num_extra_tokens=1)(with_cls), fmap)
    with pytest.raises(ValueError, match='hw='):
        TokensToMap()(torch.randn(1, 7, 3))


def test_connector_chain_tokens_then_channels():
    s = torch.randn(2, 16, 32)  # 4x4 tokens, 32 channels
    t = torch.randn(2, 64, 4, 4)
    chain, out = build_connector(
        [dict(type='TokensToMap'),
         dict(type='ChannelConnector')], s, t)
    assert out.shape == t.shape and len(chain) == 2
    assert chain[1].in_channels == 32


def test_unknown_connector_type():
    with pytest.raises(KeyError, match='Unknown connector'):
        build_connector(
            dict(type='NoSuchConnector'), torch.randn(1, 2, 3, 3),
            torch.randn(1, 2, 3, 3))


def test_a_connector_declares_the_channels_it_is_sized_with():
    """A user connector subclasses Connector and names its probed channel
    arguments; a module that is not a Connector is refused by name."""
    from mmseg.registry import MODELS
    from torch import nn

    from mmseg_kd.distill import Connector

    @MODELS.register_module(force=True)
    class _WidenTo(Connector):
        probed_channels = ('out_channels', )

        def __init__(self, out_channels, in_channels=None):
            super().__init__()
            self.out_channels, self.in_channels = out_channels, in_channels

        def forward(self, x, target=None):
            return x.repeat(1, self.out_channels // x.shape[1], 1, 1)

    s, t = torch.randn(1, 2, 3, 3), torch.randn(1, 6, 3, 3)
    chain, out = build_connector(dict(type=_WidenTo), s, t)
    assert out.shape == t.shape
    assert chain[0].in_channels is None  # not declared: left as configured
    with pytest.raises(TypeError, match='subclass mmseg_kd.distill.Connector'):
        build_connector(dict(type=nn.Identity), s, t)
