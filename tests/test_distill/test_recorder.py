# Copyright (c) mmseg_kd contributors. All rights reserved.
import gc
import weakref

import pytest
import torch
from torch import nn

from mmseg_kd.distill import TensorRecorder, TensorSpec


class Pair(nn.Module):

    def forward(self, x):
        return x * 2, x - 1


class Residual(nn.Module):
    """BasicBlock-like: its bn output is changed in place by `+=`."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        out = self.bn(self.conv(x))
        out += x
        return out


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.ReLU(inplace=True)
        self.shared = nn.Conv2d(4, 4, 1)
        self.block = Residual()
        self.pair = Pair()
        self.unused = nn.Conv2d(4, 4, 1)
        self.tail = nn.Conv2d(4, 4, 1)
        self.tail_ran = False

    def forward(self, x):
        x = self.act(self.bn(self.conv(x)))
        x = self.shared(self.shared(x))
        x = self.block(x)
        a, b = self.pair(x)
        self.tail_ran = True
        return self.tail(a + b)


def reference(net, x):
    """Values of interest computed by hand, without hooks."""
    pre = net.bn(net.conv(x))
    post = torch.relu(pre)
    s1 = net.shared(post)
    s2 = net.shared(s1)
    bn_out = net.block.bn(net.block.conv(s2))
    return dict(pre=pre, s1=s1, s2=s2, bn_out=bn_out, block=bn_out + s2)


@pytest.fixture
def net():
    torch.manual_seed(0)
    return Net().eval()


def test_spec_parsing_and_errors():
    spec = TensorSpec.parse('f',
                            dict(path='a.b', side='input', index=1, call=2))
    assert (spec.path, spec.side, spec.index, spec.call) == ('a.b', 'input', 1,
                                                             2)
    assert TensorSpec.parse('g', 'x.y').side == 'output'
    with pytest.raises(ValueError, match='unknown keys'):
        TensorSpec.parse('f', dict(path='a', layer=1))
    with pytest.raises(ValueError, match='side'):
        TensorSpec.parse('f', dict(path='a', side='middle'))
    with pytest.raises(ValueError, match='module path'):
        TensorSpec.parse('f', dict(side='input'))
    with pytest.raises(ValueError, match='call'):
        TensorSpec.parse('f', dict(path='a', call=-1))


def test_records_every_kind_of_spec(net):
    x = torch.randn(2, 3, 5, 5)
    rec = TensorRecorder(
        net,
        dict(
            pre_out=dict(path='bn'),
            pre_in=dict(path='act', side='input'),
            first=dict(path='shared'),
            second=dict(path='shared', call=1),
            second_in=dict(path='shared', side='input', call=1),
            b=dict(path='pair', index=1)))
    with torch.no_grad():
        _, got = rec.run(lambda: net(x))
        ref = reference(net, x)
    assert torch.allclose(got['pre_out'], ref['pre'])
    assert (got['pre_out'] < 0).any(), 'pre-ReLU values were overwritten'
    assert torch.allclose(got['pre_in'], ref['pre'])
    assert not net.act.inplace
    assert torch.allclose(got['first'], ref['s1'])
    assert torch.allclose(got['second'], ref['s2'])
    assert torch.allclose(got['second_in'], ref['s1'])
    assert torch.allclose(got['b'], ref['block'] - 1)


def test_in_place_change_by_code_falls_back_to_a_copy(net):
    rec = TensorRecorder(net, dict(bn_out='block.bn'))
    for seed in range(3):  # first run detects, later runs copy up front
        x = torch.randn(
            2, 3, 5, 5, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            _, got = rec.run(lambda: net(x))
            ref = reference(net, x)
        assert torch.allclose(got['bn_out'], ref['bn_out'], atol=1e-6)
    assert 'bn_out' in rec._copy_always


def test_student_gradients_through_pre_relu_record(net):
    net.train()
    x = torch.randn(2, 3, 5, 5)
    rec = TensorRecorder(net, dict(pre='bn', blk='block.bn'))
    out, got = rec.run(lambda: net(x))
    (out.sum() + got['pre'].pow(2).sum() + got['blk'].sum()).backward()
    grads = [
        None if p.grad is None else p.grad.clone() for p in net.parameters()
    ]
    # same objective on a hook-free copy computed by hand
    net.zero_grad()
    pre = net.bn(net.conv(x))
    s2 = net.shared(net.shared(torch.relu(pre)))
    blk = net.block.bn(net.block.conv(s2))
    a, b = net.pair(blk + s2)
    (net.tail(a + b).sum() + pre.pow(2).sum() + blk.sum()).backward()
    for g, p in zip(grads, net.parameters()):
        assert (g is None) == (p.grad is None)
        assert g is None or torch.allclose(g, p.grad, atol=1e-5)


def test_wrong_path_lists_close_names(net):
    with pytest.raises(KeyError) as err:
        TensorRecorder(net, dict(f='block.bm'), owner='teacher')
    text = str(err.value)
    assert 'teacher has no module' in text and 'block.bn' in text


def test_module_that_never_runs_is_named(net):
    rec = TensorRecorder(net, dict(u='unused', s=dict(path='shared', call=5)))
    with pytest.raises(RuntimeError) as err:
        rec.run(lambda: net(torch.randn(1, 3, 4, 4)))
    text = str(err.value)
    assert "'u' at unused" in text and 'did not run' in text
    assert 'ran 2 time(s), but call=5' in text


def test_index_errors(net):
    rec = TensorRecorder(net, dict(p='pair'))
    with pytest.raises(TypeError, match='index=i'):
        rec.run(lambda: net(torch.randn(1, 3, 4, 4)))
    rec = TensorRecorder(net, dict(p=dict(path='pair', index=5)))
    with pytest.raises(IndexError, match='2 elements'):
        rec.run(lambda: net(torch.randn(1, 3, 4, 4)))


def hook_count(module):
    return sum(
        len(m._forward_pre_hooks) + len(m._forward_hooks)
        for m in module.modules())


def test_hooks_exist_only_during_a_recording_and_hold_nothing(net):
    before = hook_count(net)
    rec = TensorRecorder(net, dict(s='shared', o=dict(path='act')))
    assert hook_count(net) == before  # a plain forward is untouched
    seen = []
    net.tail.register_forward_pre_hook(
        lambda m, a: seen.append(hook_count(net)))
    with torch.no_grad():  # (a graph would keep its inputs alive itself)
        _, got = rec.run(lambda: net(torch.randn(1, 3, 4, 4)))
    assert seen and seen[0] > before + 1  # registered while it ran
    assert hook_count(net) == before + 1  # only the test's own hook left
    ref = weakref.ref(got['s'])
    del got
    gc.collect()
    assert ref() is None, 'the recorder kept a recorded tensor alive'


def test_hooks_are_removed_when_the_forward_fails(net):
    before = hook_count(net)
    rec = TensorRecorder(net, dict(s='shared'))

    def failing():
        net(torch.randn(1, 3, 4, 4))
        raise ValueError('boom')

    with pytest.raises(ValueError, match='boom'):
        rec.run(failing)
    assert hook_count(net) == before


def test_inplace_consumer_is_turned_off_and_reported_once(net, monkeypatch):
    import mmseg_kd.distill.recorder as recorder_module
    messages = []
    monkeypatch.setattr(recorder_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    rec = TensorRecorder(net, dict(pre=dict(path='bn')))
    for _ in range(3):
        with torch.no_grad():
            _, got = rec.run(lambda: net(torch.randn(1, 3, 4, 4)))
        assert (got['pre'] < 0).any()
    assert not net.act.inplace
    assert len([m for m in messages if 'consumes recorded' in m]) == 1


def test_stop_when_complete_skips_the_rest(net):
    rec = TensorRecorder(net, dict(s='shared'), stop_when_complete=True)
    out, got = rec.run(lambda: net(torch.randn(1, 3, 4, 4)))
    assert out is None and 's' in got and not net.tail_ran
