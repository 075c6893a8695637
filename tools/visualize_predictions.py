# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Predictions of several models side by side, as one PNG grid.

    python tools/visualize_predictions.py \\
        --model teacher TEACHER_CFG TEACHER_CKPT \\
        --model "student alone" STUDENT_CFG STUDENT_CKPT \\
        --model distilled WORK/student_config.py WORK/student_final.pth \\
        [--config DATA_CFG] [--split {test,val,train}] [--num-images 4]
        [--indices I ...] [--seed S] [--img-dir DIR [--ann-dir DIR]]
        [--show-miou] [--opacity 1.0] [--cell-size 192] [--no-legend]
        [--device cpu] [--out predictions.png]

One row per image: image | ground truth | one column per --model (any
number, in the order given), coloured with the dataset's palette, each
column titled with its label; --show-miou writes each model's mIoU on that
image under its prediction.

Images come from the --split dataloader (default test, else val) of
--config (default the first model's config), or from a folder of images
(--img-dir; ground truth from --ann-dir when given, files named like the
images with --seg-suffix). Each model runs through mmseg's inference API
(mmseg.apis.init_model / inference_model) with its own config's
test_pipeline. A model is a plain mmseg config and checkpoint: for a
distilled student, the student_config.py and student_final.pth written at
the end of training (or by tools/export_student.py).
"""
import argparse
import copy
import math
import os.path as osp
import random
import warnings
from glob import glob

import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import mmseg_kd  # noqa: F401  (registers everything)
from mmseg_kd import visualization as vis

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Predictions of several models side by side.')
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        required=True,
        metavar=('LABEL', 'CONFIG', 'CHECKPOINT'),
        help='a model column: its title, mmseg config and checkpoint '
        '(repeat for each model)')
    parser.add_argument(
        '--config',
        help='config whose dataloader gives the images (default: the first '
        "model's config)")
    parser.add_argument(
        '--split',
        choices=['test', 'val', 'train'],
        default='test',
        help='which dataloader of --config (test falls back to val)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides for --config, key=value (e.g. a data_root)')
    parser.add_argument('--img-dir', help='a folder of images instead')
    parser.add_argument(
        '--ann-dir', help='with --img-dir: the ground-truth label maps')
    parser.add_argument('--seg-suffix', default='.png')
    parser.add_argument('--num-images', '-n', type=int, default=4)
    parser.add_argument(
        '--indices', type=int, nargs='+', help='these images of the split')
    parser.add_argument(
        '--seed',
        type=int,
        help='pick --num-images at random with this seed (default: the '
        'first ones)')
    parser.add_argument(
        '--show-miou',
        action='store_true',
        help="each model's mIoU on each image, under its prediction")
    parser.add_argument(
        '--opacity',
        type=float,
        default=1.0,
        help='below 1, label maps are drawn over the image')
    parser.add_argument(
        '--cell-size',
        type=int,
        default=192,
        help='longer side of each cell, in pixels')
    parser.add_argument(
        '--no-legend', action='store_true', help='no class legend')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default='predictions.png')
    return parser.parse_args(argv)


def load_model(label: str, config: str, checkpoint: str, device: str):
    """An mmseg model in eval mode with its checkpoint (strict: every key
    must match), ``dataset_meta`` taken from the checkpoint when saved."""
    from mmseg.apis import init_model
    cfg = Config.fromfile(config)
    if cfg.model.get('type') == 'DistillationSegmentor':
        raise SystemExit(
            f'--model {label!r}: {config} is a distillation config. Give the '
            'student alone: WORK_DIR/student_config.py and '
            'WORK_DIR/student_final.pth written by training, or export one '
            'with tools/export_student.py.')
    if 'test_pipeline' not in cfg:
        try:
            cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline
        except AttributeError:
            raise SystemExit(f'--model {label!r}: {config} has no '
                             'test_pipeline for inference.') from None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(cfg, None, device=device)
    ckpt = load_checkpoint(
        model, checkpoint, map_location='cpu', strict=True, logger='silent')
    meta = (ckpt.get('meta') or {}) if isinstance(ckpt, dict) else {}
    model.dataset_meta = meta.get('dataset_meta')
    return model


def dataset_items(args, data_cfg: Config):
    """[(image path, ground-truth label map or None)] and the dataset's
    metainfo (or None)."""
    from mmseg.datasets.transforms import LoadAnnotations
    from mmseg.registry import DATASETS

    if args.img_dir:
        paths = sorted(
            p for p in glob(osp.join(args.img_dir, '*'))
            if p.lower().endswith(IMG_EXTS))
        if not paths:
            raise SystemExit(f'No images in {args.img_dir}.')
        infos = []
        for p in paths:
            seg = None
            if args.ann_dir:
                seg = osp.join(
                    args.ann_dir,
                    osp.splitext(osp.basename(p))[0] + args.seg_suffix)
                seg = seg if osp.isfile(seg) else None
            infos.append(dict(img_path=p, seg_map_path=seg))
        metainfo = None
        ds_cfg = _dataset_cfg(data_cfg, args.split, required=False)
        if ds_cfg is not None:
            cls = DATASETS.get(ds_cfg.get('type'))
            metainfo = dict(getattr(cls, 'METAINFO', {}) or {}) or None
    else:
        ds_cfg = copy.deepcopy(
            _dataset_cfg(data_cfg, args.split, required=True))
        ds_cfg.pipeline = []
        ds_cfg.lazy_init = False
        dataset = DATASETS.build(ds_cfg)
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        metainfo = dict(dataset.metainfo)

    if args.indices:
        bad = [i for i in args.indices if not 0 <= i < len(infos)]
        if bad:
            raise SystemExit(f'--indices {bad}: the split has {len(infos)} '
                             'images.')
        chosen = list(args.indices)
    elif args.seed is not None:
        chosen = sorted(
            random.Random(args.seed).sample(
                range(len(infos)), min(args.num_images, len(infos))))
    else:
        chosen = list(range(min(args.num_images, len(infos))))

    items = []
    for i in chosen:
        info = dict(infos[i])
        gt = None
        if info.get('seg_map_path'):
            info.setdefault('seg_fields', [])
            info.setdefault('reduce_zero_label', False)
            gt = LoadAnnotations()(info)['gt_seg_map']
        items.append((info['img_path'], gt))
    return items, metainfo


def _dataset_cfg(cfg: Config, split: str, required: bool):
    order = [split, 'val'] if split == 'test' else [split]
    for name in order:
        loader = cfg.get(f'{name}_dataloader')
        if loader and loader.get('dataset'):
            return loader.dataset
    if required:
        raise SystemExit(f'The config has no {split}_dataloader dataset; '
                         'give --config or --img-dir.')
    return None


def class_meta(metainfo, models):
    """(classes, palette): the dataset's, else the first checkpoint's,
    else mmseg's palette of a dataset with that many classes."""
    for meta in [metainfo] + [m.dataset_meta for m in models]:
        if meta and meta.get('classes') and meta.get('palette'):
            return list(meta['classes']), [list(p) for p in meta['palette']]
    from mmseg.utils import dataset_aliases, get_classes, get_palette
    num = models[0].decode_head.num_classes
    for name in dataset_aliases:
        if len(get_classes(name)) == num:
            return list(get_classes(name)), get_palette(name)
    rng = np.random.RandomState(0)
    return [str(i) for i in range(num)], rng.randint(0, 256, (num, 3)).tolist()


def main(argv=None):
    args = parse_args(argv)
    from mmseg.apis import inference_model

    labels = [m[0] for m in args.model]
    models = [load_model(*m, device=args.device) for m in args.model]
    data_cfg = Config.fromfile(args.config or args.model[0][1])
    if args.cfg_options:
        data_cfg.merge_from_dict(args.cfg_options)
    init_default_scope(data_cfg.get('default_scope', 'mmseg'))
    items, metainfo = dataset_items(args, data_cfg)
    classes, palette = class_meta(metainfo, models)
    for label, model in zip(labels, models):
        n = model.decode_head.num_classes
        if n > len(palette):
            print(f'warning: {label!r} predicts {n} classes, the palette has '
                  f'{len(palette)}; the rest are drawn as ignored.')

    has_gt = any(gt is not None for _, gt in items)
    titles = ['image'] + (['ground truth'] if has_gt else []) + labels
    cell = vis.cell_size_for(
        mmcv.imread(items[0][0]).shape[:2], args.cell_size)

    ignore_color = vis.ignore_color_for(palette)
    ignored = False  # any pixel drawn in the ignore colour

    def label_cell(image, seg):
        """A label map coloured (over the image below opacity 1), fitted to
        the cell with nearest-neighbour resampling."""
        nonlocal ignored
        ignored = ignored or bool((seg >= len(palette)).any())
        rgb = vis.blend(image, vis.colorize(seg, palette, ignore_color),
                        args.opacity)
        return vis.fit_to_cell(rgb, cell, nearest=True)

    rows, captions, scores = [], [], []
    for img_path, gt in items:
        image = mmcv.imread(img_path, channel_order='rgb')
        row = [image]
        caption = [osp.splitext(osp.basename(img_path))[0]]
        if has_gt:
            row.append(None if gt is None else label_cell(image, gt))
            caption.append('')
        row_scores = []
        for model in models:
            result = inference_model(model, img_path)
            pred = result.pred_sem_seg.data[0].cpu().numpy()
            row.append(label_cell(image, pred))
            miou = math.nan
            if gt is not None:
                miou = vis.image_miou(pred, gt, len(classes))
            row_scores.append(miou)
            caption.append(f'mIoU {miou:.1f}'
                           if args.show_miou and not math.isnan(miou) else '')
        rows.append(row)
        captions.append(caption)
        scores.append(row_scores)

    grid = vis.compose_grid(
        rows, titles=titles, captions=captions, cell_size=cell)
    if not args.no_legend:
        grid = np.concatenate([
            grid,
            vis.legend_strip(classes, palette, grid.shape[1],
                             ignore_color if ignored else None)
        ])
    vis.save_png(args.out, grid)

    if has_gt:
        names = [osp.splitext(osp.basename(p))[0] for p, _ in items]
        width = max(len(x) for x in names + ['image'])
        print(f'{"image":{width}s} ' + ' '.join(f'{x:>{max(len(x), 6)}s}'
                                                for x in labels))
        for name, row_scores in zip(names, scores):
            print(f'{name:{width}s} ' +
                  ' '.join(f'{s:>{max(len(x), 6)}.1f}'
                           for x, s in zip(labels, row_scores)))
        with warnings.catch_warnings():  # a model with no valid image
            warnings.simplefilter('ignore', RuntimeWarning)
            means = np.nanmean(np.array(scores, dtype=float), axis=0)
        print(f'{"mean":{width}s} ' + ' '.join(f'{s:>{max(len(x), 6)}.1f}'
                                               for x, s in zip(labels, means)))
    print(f'{grid.shape[1]}x{grid.shape[0]} grid of {len(items)} images '
          f'written to {args.out}')
    return args.out


if __name__ == '__main__':
    main()
