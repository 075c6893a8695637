# Copyright (c) mmseg_kd contributors. All rights reserved.
"""SyncBN is reverted wherever it cannot synchronise, before any recorder
hook is attached, so that mmengine's own revert in a single-process run
does not drop the hooks."""
import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from torch import nn

from mmseg_kd.utils import revert_unusable_sync_bn
from mmseg_kd.utils import sync_bn as sync_bn_module


def net():
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.SyncBatchNorm(4))


def has_sync_bn(model):
    return any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())


@pytest.mark.parametrize(
    'cuda,distributed,reverted',
    [
        (False, False, True),
        (False, True, True),
        (True, False,
         True),  # one GPU, no process group: mmengine would revert
        (True, True, False),
    ])
def test_reverted_unless_cuda_and_a_process_group(monkeypatch, cuda,
                                                  distributed, reverted):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(sync_bn_module, 'is_distributed', lambda: distributed)
    model = revert_unusable_sync_bn(net(), 'student')
    assert has_sync_bn(model) is not reverted


def test_hooks_survive_mmengines_revert_in_a_single_gpu_run(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(sync_bn_module, 'is_distributed', lambda: False)
    model = revert_unusable_sync_bn(net(), 'student')
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    # what Runner.wrap_model does when not distributed
    model = revert_sync_batchnorm(model)
    model.train()
    model(torch.randn(2, 3, 4, 4))
    assert seen == [torch.Size([2, 4, 4, 4])]


def test_a_model_without_sync_bn_is_returned_as_it_is():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    assert revert_unusable_sync_bn(model) is model
