# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Checkpoint loading: weights only, an explicit allow-list, hostile files
refused on every path, strict and readable mismatch reports."""
import os
import os.path as osp
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from mmseg_kd.utils import (CheckpointMismatchError, NotACheckpointError,
                            UnsafeCheckpointError, load_checkpoint_file,
                            load_checkpoint_strict, safe_checkpoint_loading)
from mmseg_kd.utils.checkpoint import TRUST_ENV
from ..conftest import build_mmseg, tiny_segmentor


# ------------------------------------------------------------ hostile files
class _Payload:
    """Unpickling this runs a shell command (the classic attack)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


def reduce_payload(path: str, marker: str) -> str:
    """A checkpoint-looking file whose unpickling creates ``marker``."""
    torch.save(
        {
            'state_dict': {
                'w': torch.zeros(1)
            },
            'meta': _Payload(f'touch {marker}')
        }, path)
    return path


def _global(module: str, name: str) -> bytes:
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def _string(text: str) -> bytes:
    data = text.encode()
    return b'X' + struct.pack('<I', len(data)) + data


def _call(func: bytes, *args: bytes) -> bytes:
    return func + b'(' + b''.join(args) + b'tR'


def getattr_chain_payload(path: str, marker: str) -> str:
    """A file whose only globals are ``builtins.getattr`` and mmengine's
    ``HistoryBuffer`` (both in every real iter_N.pth), chained to ``eval``:
    getattr(HistoryBuffer, '__init__').__globals__['__builtins__']['eval']
    (...). Any loader that allows a general getattr and then unpickles in
    full runs it."""
    getattr_ = _global('builtins', 'getattr')
    buffer = _global('mmengine.logging.history_buffer', 'HistoryBuffer')
    init = _call(getattr_, buffer, _string('__init__'))
    scope = _call(getattr_, init, _string('__globals__'))
    builtins = _call(
        _call(getattr_, scope, _string('get')), _string('__builtins__'))
    evaluate = _call(
        _call(getattr_, builtins, _string('get')), _string('eval'))
    code = f"__import__('os').system('touch {marker}')"
    data = b'\x80\x02' + _call(evaluate, _string(code)) + b'.'
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as zf:
        zf.writestr('archive/data.pkl', data)
        zf.writestr('archive/byteorder', 'little')
        zf.writestr('archive/version', '3\n')
    return path


PAYLOADS = dict(reduce=reduce_payload, getattr_chain=getattr_chain_payload)


@pytest.fixture(params=sorted(PAYLOADS))
def hostile(request, tmp_path):
    """(path of a hostile checkpoint, marker file it would create)."""
    marker = str(tmp_path / f'pwned_{request.param}')
    path = PAYLOADS[request.param](str(tmp_path / 'evil.pth'), marker)
    return path, marker


def test_the_payloads_are_real(tmp_path):
    """Unpickled in full, each payload does run (so the tests below prove
    something); never do this with a file you did not make."""
    for name, make in PAYLOADS.items():
        marker = str(tmp_path / name)
        path = make(str(tmp_path / f'{name}.pth'), marker)
        if name == 'reduce':
            torch.load(path, weights_only=False)  # a full unpickle
        else:
            with zipfile.ZipFile(path) as zf:
                pickle.loads(zf.read('archive/data.pkl'))
        assert osp.exists(marker), name


def test_hostile_files_are_refused_and_run_nothing(hostile):
    path, marker = hostile
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(path, 'teacher')
    text = str(err.value)
    assert path in text and 'teacher' in text and TRUST_ENV in text
    assert 'system' in text or 'builtins.getattr' in text
    assert not osp.exists(marker)


def test_a_hostile_teacher_or_student_checkpoint_is_refused(hostile):
    path, marker = hostile
    from mmseg.registry import MODELS

    from ..conftest import distill_model
    for side in ('teacher', 'student'):
        entry = dict(model=tiny_segmentor(width=8), checkpoint=path)
        with pytest.raises(UnsafeCheckpointError, match=side):
            MODELS.build(distill_model(**{side: entry}))
        assert not osp.exists(marker)


def test_trusted_opt_in_is_per_file_and_still_weights_only(
        tmp_path, monkeypatch):
    """Opting a file in allows the globals it names, for that file only;
    the getattr chain still cannot call what it reaches."""
    import argparse
    path = str(tmp_path / 'namespace.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'args': argparse.Namespace(lr=0.1)
        }, path)
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace'):
        load_checkpoint_file(path)
    monkeypatch.setenv(TRUST_ENV, path)
    assert load_checkpoint_file(path)['args'].lr == 0.1
    marker = str(tmp_path / 'pwned')
    chain = getattr_chain_payload(str(tmp_path / 'chain.pth'), marker)
    monkeypatch.setenv(TRUST_ENV, os.pathsep.join([path, chain]))
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(chain)
    assert not osp.exists(marker)


# -------------------------------------------------------------- real files
def test_mmengine_training_checkpoint_loads(tmp_path):
    """What an iter_N.pth holds beyond tensors: the message hub's history
    buffers (with their statistics methods), numpy arrays and scalars."""
    hub = MessageHub.get_instance('test-checkpoint-hub')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/lr', np.float64(0.01))
    hub.update_info('seed', np.int64(3))
    path = str(tmp_path / 'iter_1.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(3)
            },
            'message_hub': hub.state_dict(),
            'meta': {
                'seed': np.int64(3),
                'iter': 1,
                'rng': np.random.get_state()
            }
        }, path)
    ckpt = load_checkpoint_file(path, 'resume')
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.mean() == 1.5
    assert ckpt['meta']['seed'] == 3


@pytest.mark.parametrize('content',
                         [b'', b'not a checkpoint\n', b'PK\x03\x04garbage'])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(NotACheckpointError) as err:
        load_checkpoint_file(str(path), 'student')
    text = str(err.value)
    assert str(path) in text and 'student' in text
    assert 'not a checkpoint' in text and 'weights_only' not in text


def test_truncated_checkpoint(tmp_path):
    model = build_mmseg(tiny_segmentor(width=8))
    path = tmp_path / 'full.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(NotACheckpointError, match='cut.pth'):
        load_checkpoint_strict(model, str(cut), 'teacher')
    with pytest.raises(FileNotFoundError, match='teacher'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'), 'teacher')


def test_mismatch_hints_name_the_right_cause(tmp_path):
    small = build_mmseg(tiny_segmentor(width=8, aux=False))
    # another class count: conv_seg's output channels differ
    other_classes = build_mmseg(
        tiny_segmentor(width=8, aux=False, num_classes=5))
    path = str(tmp_path / 'classes.pth')
    torch.save({'state_dict': other_classes.state_dict()}, path)
    with pytest.raises(
            CheckpointMismatchError, match='number of classes differs'):
        load_checkpoint_strict(small, path, 'teacher')
    # the same classes, a wider head input (another backbone): not classes
    cfg = tiny_segmentor(width=8, aux=False)
    cfg['decode_head']['channels'] = 32
    wider = build_mmseg(cfg)
    path = str(tmp_path / 'wider.pth')
    torch.save({'state_dict': wider.state_dict()}, path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(small, path, 'teacher')
    assert 'input channels differ' in str(err.value)
    assert 'number of classes' not in str(err.value)


def test_safe_loading_is_scoped_to_the_block():
    before = CheckpointLoader._get_checkpoint_loader('a/b.pth')
    with safe_checkpoint_loading('resume'):
        inside = CheckpointLoader._get_checkpoint_loader('a/b.pth')
        assert inside is not before
    assert CheckpointLoader._get_checkpoint_loader('a/b.pth') is before


def test_importing_the_plugin_changes_no_loader():
    """A fresh interpreter: mmengine's loader of local files is its own
    before and after `import mmseg_kd`."""
    code = ('from mmengine.runner import CheckpointLoader as C\n'
            "a = C._get_checkpoint_loader('x.pth')\n"
            'import mmseg_kd\n'
            "assert C._get_checkpoint_loader('x.pth') is a, 'changed'\n"
            "print(a.__module__)\n")
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'mmengine' in out.stdout


def test_running_out_of_device_memory_is_not_blamed_on_the_file(
        tmp_path, monkeypatch):
    path = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, path)

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate')

    monkeypatch.setattr(torch, 'load', out_of_memory)
    with pytest.raises(torch.OutOfMemoryError):
        load_checkpoint_file(str(path), 'teacher', map_location='cpu')


def test_urls_download_once_each_to_its_own_file(tmp_path, monkeypatch):
    """An http(s) checkpoint is downloaded once per URL into torch's hub
    cache and then read like a local file (a hostile download is refused
    all the same); two URLs ending in the same file name never share one."""
    from mmseg_kd.utils import checkpoint as ckpt
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    served = {
        'https://a.example/v1/model.pth': torch.full((1, ), 1.0),
        'https://a.example/v2/model.pth?dl=1': torch.full((1, ), 2.0),
        'https://b.example/v1/model.pth': torch.full((1, ), 3.0),
    }
    downloads = []

    def download_url_to_file(url, dst, progress=True):
        downloads.append(url)
        if url.endswith('evil.pth'):
            reduce_payload(dst, str(tmp_path / 'pwned'))
        else:
            torch.save({'state_dict': {'w': served[url]}}, dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        download_url_to_file)
    for _ in range(2):
        for url, value in served.items():
            loaded = load_checkpoint_file(url, role='teacher')
            assert torch.equal(loaded['state_dict']['w'], value)
    assert downloads == list(served)  # once each
    paths = {ckpt.download_path(url) for url in served}
    assert len(paths) == 3 and all(
        osp.basename(p) == 'model.pth' for p in paths)
    with pytest.raises(UnsafeCheckpointError, match='teacher'):
        load_checkpoint_file('https://a.example/evil.pth', role='teacher')
    assert not (tmp_path / 'pwned').exists()
