# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Running only the parts of a segmentor that a recording needs."""
import torch

from mmseg_kd.distill import forward_network, parts_needed
from ..conftest import build_mmseg, tiny_segmentor


def test_parts_needed():
    assert parts_needed(['backbone.layer3', 'neck.x']) == set()
    assert parts_needed(['decode_head.conv_seg']) == {'decode_head'}
    assert parts_needed(['auxiliary_head.conv_seg',
                         'backbone']) == {'auxiliary_head'}
    assert parts_needed(['somewhere.else']) == {'all'}


def test_forward_network_runs_the_asked_heads_only():
    model = build_mmseg(tiny_segmentor(width=8)).eval()
    ran = []
    # (mmseg's _forward calls decode_head.forward, bypassing the head's own
    # hooks: watch its classifier)
    model.decode_head.conv_seg.register_forward_pre_hook(
        lambda *a: ran.append('decode'))
    model.auxiliary_head.conv_seg.register_forward_pre_hook(
        lambda *a: ran.append('aux'))
    model.backbone.register_forward_pre_hook(lambda *a: ran.append('backbone'))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for parts, expected in ((set(), ['backbone']), ({'decode_head'}, [
                'backbone', 'decode'
        ]), ({'auxiliary_head'}, ['backbone',
                                  'aux']), ({'all'}, ['backbone', 'decode'])):
            ran.clear()
            forward_network(model, x, parts)
            assert ran == expected, parts
