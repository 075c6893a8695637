# Copyright (c) mmseg_kd contributors. All rights reserved.
"""FrozenTeacher: always eval, no gradient, its own precision, only as far
as its tensors need."""
import pytest
import torch

from mmseg_kd.segmentors import FrozenTeacher
from ..conftest import build_mmseg, tiny_segmentor


def teacher(tensors, **kw):
    return FrozenTeacher(build_mmseg(tiny_segmentor(width=8)), tensors, **kw)


def test_frozen_whatever_train_asks():
    t = teacher(dict(logits='decode_head.conv_seg'))
    t.train()
    assert not t.training and not any(m.training for m in t.modules())
    assert not any(p.requires_grad for p in t.parameters())
    x = torch.randn(1, 3, 64, 64, requires_grad=True)
    out = t(x)['logits']
    assert not out.requires_grad and out.shape == (1, 11, 8, 8)
    with torch.no_grad():  # stands for weights loaded from a checkpoint
        for p in t.parameters():
            p.fill_(0.5)
    before = {k: v.clone() for k, v in t.state_dict().items()}
    t.init_weights()  # never re-initialised
    after = t.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert list(after)[0].startswith('model.')


def test_stops_once_every_tensor_is_recorded():
    t = teacher(dict(mid='backbone.layer2'))
    ran = []
    t.model.backbone.layer3.register_forward_pre_hook(
        lambda *a: ran.append('layer3'))
    t.model.decode_head.register_forward_pre_hook(
        lambda *a: ran.append('decode'))
    assert t(torch.randn(1, 3, 64, 64))['mid'].shape[1] == 16
    assert ran == []


def test_precision():
    out = teacher(
        dict(logits='decode_head.conv_seg'),
        precision='bf16')(torch.randn(1, 3, 64, 64))['logits']
    assert out.dtype == torch.bfloat16
    with pytest.raises(ValueError, match='precision'):
        teacher(dict(logits='decode_head.conv_seg'), precision='int8')


def test_checkpoint_loaded_strictly(tmp_path):
    model = build_mmseg(tiny_segmentor(width=8))
    path = str(tmp_path / 't.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    t = teacher(dict(logits='decode_head.conv_seg'), checkpoint=path)
    for key, value in model.state_dict().items():
        assert torch.equal(t.model.state_dict()[key], value)
    other = build_mmseg(tiny_segmentor(width=16))
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(RuntimeError, match='does not match'):
        teacher(dict(logits='decode_head.conv_seg'), checkpoint=path)
