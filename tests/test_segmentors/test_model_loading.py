# Copyright (c) mmseg_kd contributors. All rights reserved.
"""teacher=/student= entries: the forms a config may use."""
import pytest

from mmseg_kd.segmentors import resolve_model_entry
from ..conftest import tiny_segmentor


def test_inline_model_forms_and_options():
    model = tiny_segmentor(width=8)
    cfg, opts = resolve_model_entry(model, 'teacher')
    assert cfg.type == 'EncoderDecoder' and opts == dict(
        checkpoint=None, precision=None)
    cfg, opts = resolve_model_entry(
        dict(
            model=model,
            checkpoint='t.pth',
            precision='bf16',
            overrides=dict(
                decode_head=dict(num_classes=5), auxiliary_head=None)),
        'teacher')
    assert cfg.decode_head.num_classes == 5 and cfg.auxiliary_head is None
    assert opts == dict(checkpoint='t.pth', precision='bf16')
    assert model['decode_head']['num_classes'] == 11  # not modified


def test_config_paths(tmp_path):
    cfg, _ = resolve_model_entry(
        dict(config='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-'
             '512x1024.py'), 'student')
    assert cfg.backbone.depth == 18
    path = tmp_path / 'm.py'
    path.write_text(f'model = {tiny_segmentor(width=8)!r}\n')
    assert resolve_model_entry(dict(config=str(path)),
                               'student')[0].backbone.base_channels == 8
    with pytest.raises(FileNotFoundError, match='does not exist'):
        resolve_model_entry(dict(config=str(tmp_path / 'no.py')), 'student')
    with pytest.raises(FileNotFoundError, match='mmseg::'):
        resolve_model_entry(dict(config='mmseg::nope/none.py'), 'student')


def test_bad_entries_name_the_fix():
    model = tiny_segmentor(width=8)
    with pytest.raises(KeyError, match='unknown keys'):
        resolve_model_entry(dict(model=model, weights='x'), 'teacher')
    with pytest.raises(KeyError, match='exactly one of'):
        resolve_model_entry(dict(checkpoint='x'), 'teacher')
    with pytest.raises(KeyError, match='teacher option'):
        resolve_model_entry(dict(model=model, precision='bf16'), 'student')
    with pytest.raises(TypeError, match='must be a dict'):
        resolve_model_entry('model.py', 'teacher')
