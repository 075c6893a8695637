# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Prediction grids, loss-term plots, and their tools
(tools/visualize_predictions.py, tools/plot_loss_terms.py)."""
import csv
import importlib.util
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmseg_kd import visualization as vis
from ..conftest import REPO, build_mmseg, camvid_like_root, tiny_segmentor

PALETTE = [[128, 64, 128], [70, 130, 180], [220, 20, 60], [0, 200, 0]]


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(
        f'_tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_png(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    assert img is not None, path
    return img[..., ::-1]  # RGB


# --------------------------------------------------------------------------
# colouring and grid composition
# --------------------------------------------------------------------------


def test_colorize_uses_palette_and_ignore_color():
    seg = np.array([[0, 1, 2], [3, 255, 7]], dtype=np.uint8)
    out = vis.colorize(seg, PALETTE)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    for (y, x), label in np.ndenumerate(seg):
        expected = PALETTE[label] if label < len(PALETTE) else \
            vis.IGNORE_COLOR
        assert tuple(out[y, x]) == tuple(expected)
    # (1, H, W) as mmseg's PixelData holds it
    assert np.array_equal(vis.colorize(seg[None], PALETTE), out)


def test_ignore_color_for():
    assert vis.ignore_color_for(PALETTE) == vis.IGNORE_COLOR
    assert vis.ignore_color_for([[0, 0, 0], [9, 9, 9]]) == (255, 255, 255)


def test_blend():
    image = np.full((2, 2, 3), 100, np.uint8)
    color = np.full((2, 2, 3), 200, np.uint8)
    assert vis.blend(image, color, 1.0) is color
    assert (vis.blend(image, color, 0.5) == 150).all()


def test_compose_grid_shape_and_colours():
    ch, cw, pad, t_h, c_h = 20, 30, 3, 16, 12
    rows, labels = [], []
    rng = np.random.RandomState(0)
    for _ in range(2):
        row_labels = [np.full((ch, cw), k, np.uint8) for k in range(3)]
        # an image-like cell, then label maps coloured with the palette
        row = [rng.randint(0, 256, (ch, cw, 3)).astype(np.uint8)]
        row += [vis.colorize(seg, PALETTE) for seg in row_labels]
        rows.append(row)
        labels.append(row_labels)
    grid = vis.compose_grid(
        rows,
        titles=['image', 'a', 'b', 'c'],
        captions=[['x', '', 'mIoU 1.0', None]] * 2,
        pad=pad,
        title_height=t_h,
        caption_height=c_h)
    # pad + titles + each row (cell + caption + pad); pad + 4 x (cell + pad)
    assert grid.shape == (pad + t_h + 2 * (ch + c_h + pad),
                          pad + 4 * (cw + pad), 3)
    assert grid.shape[:2] == vis.grid_shape(2, 4, (ch, cw), pad, t_h, c_h)
    for i in range(2):
        y = pad + t_h + i * (ch + c_h + pad)
        x0 = pad
        assert np.array_equal(grid[y:y + ch, x0:x0 + cw], rows[i][0])
        for j in range(3):
            x = pad + (j + 1) * (cw + pad)
            cell = grid[y:y + ch, x:x + cw]
            assert (cell == np.array(PALETTE[j], np.uint8)).all()
    # margins are background
    assert (grid[:, :pad] == 255).all() and (grid[-pad:] == 255).all()

    # no titles/captions: no bands
    bare = vis.compose_grid(rows, pad=pad)
    assert bare.shape == (pad + 2 * (ch + pad), pad + 4 * (cw + pad), 3)


def test_compose_grid_fits_other_sizes():
    small = vis.colorize(np.full((10, 10), 1, np.uint8), PALETTE)
    wide = vis.colorize(np.full((10, 40), 2, np.uint8), PALETTE)
    grid = vis.compose_grid([[small, wide, None]], cell_size=(20, 20), pad=0)
    assert grid.shape == (20, 60, 3)
    assert (grid[:, :20] == PALETTE[1]).all()  # 10x10 enlarged to 20x20
    # 10x40 into 20x20: 5x20 centred on background
    assert (grid[8:12, 20:40] == PALETTE[2]).all()
    assert (grid[:7, 20:40] == 255).all()
    assert (grid[:, 40:] == 255).all()  # None: blank cell


def test_legend_strip_wraps():
    classes = [f'class {i}' for i in range(4)]
    wide = vis.legend_strip(classes, PALETTE, width=800)
    narrow = vis.legend_strip(classes, PALETTE, width=120)
    assert wide.shape[1] == 800 and narrow.shape[1] == 120
    assert narrow.shape[0] > wide.shape[0]
    colours = {tuple(c) for c in wide.reshape(-1, 3)}
    assert all(tuple(p) in colours for p in PALETTE)


def test_image_miou():
    gt = np.array([[0, 0, 1, 1], [255, 255, 2, 2]])
    assert vis.image_miou(gt, gt, 3) == 100.0
    pred = np.array([[0, 1, 1, 1], [0, 0, 2, 2]])
    # class 0: 1/2, class 1: 2/3, class 2: 1 (ignored pixels left out)
    assert vis.image_miou(pred, gt,
                          3) == pytest.approx(100 * (0.5 + 2 / 3 + 1) / 3)
    assert math.isnan(vis.image_miou(pred, np.full_like(gt, 255), 3))


# --------------------------------------------------------------------------
# tools/plot_loss_terms.py
# --------------------------------------------------------------------------

TASK = ('decode.loss_ce', 'aux.loss_ce')
DISTILL = ('loss_kd', 'loss_cwd')


def write_scalars(work_dir, iters=range(10, 210, 10)) -> str:
    """A scalars.json as mmengine writes it: train steps with the loss
    terms, accuracies and lr; a val step with no loss."""
    run = work_dir / '20240101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = []
    for it in iters:
        terms = {
            'decode.loss_ce': 2.0 / it**0.5,
            'aux.loss_ce': 0.8 / it**0.5,
            'loss_kd': 0.1 + 1 / it,
            'loss_cwd': 3.0 / it
        }
        rec = dict(lr=0.01, data_time=0.01, loss=sum(terms.values()))
        rec.update(terms)
        rec.update({
            'decode.acc_seg': 50.0,
            'aux.acc_seg': 40.0,
            'time': 0.3,
            'iter': it,
            'step': it
        })
        lines.append(json.dumps(rec))
    lines.insert(
        10,
        json.dumps(
            dict(aAcc=80.0, mIoU=40.0, data_time=0.1, time=0.2, step=100)))
    (run / 'scalars.json').write_text('\n'.join(lines) + '\n')
    return str(run / 'scalars.json')


def test_loss_series_and_kinds(tmp_path):
    path = write_scalars(tmp_path)
    assert vis.find_logs(str(tmp_path)) == [path]
    series = vis.loss_series(vis.read_log(path))
    assert list(series) == ['loss', *TASK, *DISTILL]
    its, values = series['loss_kd']
    assert its.tolist() == list(range(10, 210, 10))
    assert values[0] == pytest.approx(0.2)
    assert [vis.loss_kind(k) for k in series] == \
        ['total', 'task', 'task', 'distill', 'distill']
    assert vis.smooth(np.array([1., 3., 5., 7.]), 2).tolist() == \
        [1., 2., 4., 6.]


def test_split_runs_resume_and_restart():
    its = [10, 20, 30, 20, 30, 40, 10, 20]  # resumed at 20, then a new run
    records = [dict(loss=float(i), iter=it) for i, it in enumerate(its)]
    records.insert(3, dict(mIoU=1.0, step=30))  # validation: left out
    runs = vis.split_runs(records)
    assert [[r['iter'] for r in run] for run in runs] == \
        [[10, 20, 30, 20, 30, 40], [10, 20]]
    its, values = vis.loss_series(runs[0])['loss']
    assert its.tolist() == [10, 20, 30, 40]
    assert values.tolist() == [0., 3., 4., 5.]  # the resumed values win


def test_text_log_and_run_dirs(tmp_path):
    """A run dir without vis_data: its text log; a run dir whose
    scalars.json other runners shared: its own <timestamp>.json."""
    first = tmp_path / 'work' / '20240101_000000'
    (first / 'vis_data').mkdir(parents=True)
    own = first / 'vis_data' / '20240101_000000.json'
    own.write_text(json.dumps(dict(loss=1.0, iter=50)) + '\n')
    (first / 'vis_data' / 'scalars.json').write_text(
        json.dumps(dict(loss=1.0, iter=50)) + '\n' +
        json.dumps(dict(loss=9.0, iter=50)) + '\n')
    second = tmp_path / 'work' / '20240102_000000'
    second.mkdir()
    log = second / '20240102_000000.log'
    log.write_text(
        '2024/01/02 00:00:01 - mmengine - INFO - Iter(train) [ 50/600]  '
        'lr: 4.6311e-02  eta: 0:01:18  time: 0.1185  data_time: 0.0085  '
        'loss: 3.5407  decode.loss_ce: 0.4363  decode.acc_seg: 84.7914  '
        'loss_cwd: 2.6765\n'
        '2024/01/02 00:00:02 - mmengine - INFO - Iter(val) [10/13]    '
        'eta: 0:00:00\n'
        '2024/01/02 00:00:03 - mmengine - INFO - Iter(train) [100/600]  '
        'lr: 4.2512e-02  eta: 0:01:08  time: 0.1363  data_time: 0.0089  '
        'loss: 2.7188  decode.loss_ce: 0.4071  decode.acc_seg: 87.9910  '
        'loss_cwd: 1.9223\n')
    assert vis.find_logs(str(first)) == [str(own)]
    assert vis.find_logs(str(second)) == [str(log)]
    assert vis.find_logs(str(tmp_path / 'work')) == [str(own), str(log)]
    records = vis.read_log(str(log))
    assert records[1] == {
        'lr': 4.2512e-02,
        'time': 0.1363,
        'data_time': 0.0089,
        'loss': 2.7188,
        'decode.loss_ce': 0.4071,
        'decode.acc_seg': 87.9910,
        'loss_cwd': 1.9223,
        'iter': 100
    }
    with pytest.raises(FileNotFoundError):
        vis.find_logs(str(tmp_path))


def test_plot_loss_terms_tool(tmp_path):
    path = write_scalars(tmp_path / 'work')
    tool = load_tool('plot_loss_terms')
    out, table = str(tmp_path / 'terms.png'), str(tmp_path / 'terms.csv')
    assert tool.main([
        str(tmp_path / 'work'), '--out', out, '--csv', table, '--smooth', '3',
        '--log'
    ]) == out
    img = read_png(out)
    assert img.shape == (450, 800, 3) and img.std() > 0
    with open(table) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['iter', 'loss', *TASK, *DISTILL]
    assert len(rows) == 21 and rows[1][0] == '10'

    # default output: next to scalars.json
    assert tool.main([path]) == osp.join(osp.dirname(path), 'loss_terms.png')

    # one labelled curve per loss key; distillation terms dashed
    series = vis.loss_series(vis.read_log(path))
    fig = vis.plot_loss_terms(series)
    lines = {
        ln.get_label(): ln
        for ln in fig.axes[0].get_lines() if not ln.get_label().startswith('_')
    }
    assert set(lines) == {'loss (total)'} | {f'{k} (task)' for k in TASK} | \
        {f'{k} (distill)' for k in DISTILL}
    assert all(lines[f'{k} (distill)'].get_linestyle() == '--'
               for k in DISTILL)
    assert all(lines[f'{k} (task)'].get_linestyle() == '-' for k in TASK)


# --------------------------------------------------------------------------
# tools/visualize_predictions.py, end to end on CamVid
# --------------------------------------------------------------------------


def tiny_model_files(tmp_path, name: str, seed: int):
    """A tiny EncoderDecoder config on CamVid and a random checkpoint."""
    model_cfg = tiny_segmentor(width=8, aux=False, size=None)
    cfg_file = tmp_path / f'{name}.py'
    base = osp.join(REPO, 'distillation_configs', '_base_', 'datasets',
                    'camvid.py')
    cfg_file.write_text(f'_base_ = [{base!r}]\n'
                        "default_scope = 'mmseg'\n"
                        f'model = {model_cfg!r}\n'
                        'test_dataloader = dict(dataset=dict('
                        f'data_root={camvid_like_root()!r}))\n')
    torch.manual_seed(seed)
    model = build_mmseg(model_cfg)
    ckpt = tmp_path / f'{name}.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return str(cfg_file), str(ckpt)


def test_visualize_predictions_tool(tmp_path, capsys):
    models = [
        tiny_model_files(tmp_path, 'a', 0),
        tiny_model_files(tmp_path, 'b', 1)
    ]
    out = str(tmp_path / 'grid.png')
    tool = load_tool('visualize_predictions')
    tool.main([
        '--model', 'model a', *models[0], '--model', 'model b', *models[1],
        '--num-images', '2', '--cell-size', '96', '--show-miou', '--out', out
    ])
    img = read_png(out)
    # CamVid is 480x360: cells of 72x96; image | ground truth | a | b
    cell = (72, 96)
    height, width = vis.grid_shape(
        2, 4, cell, pad=4, title_height=24, caption_height=18)
    from mmseg_kd.datasets.camvid import CamVidDataset
    meta = CamVidDataset.METAINFO
    ann_dir = osp.join(camvid_like_root(), 'ann_dir', 'val')
    void = any(
        (cv2.imread(osp.join(ann_dir, name), cv2.IMREAD_UNCHANGED) == 255
         ).any() for name in sorted(os.listdir(ann_dir))[:2])
    legend = vis.legend_strip(meta['classes'], meta['palette'], width,
                              vis.IGNORE_COLOR if void else None)
    assert img.shape == (height + legend.shape[0], width, 3)
    # the ground-truth cell is drawn in CamVid's palette (and void)
    y, x = 4 + 24, 4 + cell[1] + 4
    colours = {
        tuple(c)
        for c in img[y:y + cell[0], x:x + cell[1]].reshape(-1, 3)
    }
    allowed = {tuple(p) for p in meta['palette']} | {vis.IGNORE_COLOR}
    assert len(colours) >= 3 and colours <= allowed
    report = capsys.readouterr().out
    assert 'model a' in report and 'mean' in report


def test_diagnostics_are_kept_apart_from_losses_and_plotted(tmp_path):
    records = [
        dict(
            iter=i,
            loss=2.0 / i,
            loss_kd=0.5 / i,
            **{
                'kd_ratio/loss_kd': 0.25,
                'kd_cosine/loss_kd': -0.1,
                'kd_grad_ratio/loss_kd': 0.7,
                'kd_factor/loss_kd': min(1.0, i / 4)
            }) for i in range(1, 6)
    ]
    losses = vis.loss_series(records)
    diags = vis.diagnostic_series(records)
    assert list(losses) == ['loss', 'loss_kd']
    assert set(diags) == {
        'kd_ratio/loss_kd', 'kd_cosine/loss_kd', 'kd_grad_ratio/loss_kd',
        'kd_factor/loss_kd'
    }
    fig = vis.plot_diagnostics(diags, str(tmp_path / 'd.png'))
    assert len(fig.axes) == 4 and (tmp_path / 'd.png').exists()
    with pytest.raises(ValueError, match='No distillation diagnostics'):
        vis.plot_diagnostics({})
