# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Pictures of predictions (tools/visualize_predictions.py): label maps in
a palette, blended over images, in grids with captions and a legend.

Grids are composed with numpy and OpenCV, so their size in pixels is exact
(see :func:`grid_shape`).
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

Color = Tuple[int, int, int]

#: colour of ignored pixels (label 255) and of labels outside the palette
IGNORE_COLOR: Color = (0, 0, 0)
BACKGROUND: Color = (255, 255, 255)
TEXT_COLOR: Color = (0, 0, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX

# --------------------------------------------------------------------------
# label maps
# --------------------------------------------------------------------------


def colorize(seg: np.ndarray,
             palette: Sequence[Sequence[int]],
             ignore_color: Color = IGNORE_COLOR) -> np.ndarray:
    """An (H, W) label map as an (H, W, 3) uint8 RGB image: label ``i`` gets
    ``palette[i]``; labels outside the palette (255, ignored) get
    ``ignore_color``."""
    seg = np.asarray(seg)
    if seg.ndim == 3 and seg.shape[0] == 1:
        seg = seg[0]
    if seg.ndim != 2:
        raise ValueError(f'Expected an (H, W) label map, got {seg.shape}.')
    lut = np.empty((256, 3), dtype=np.uint8)
    lut[:] = ignore_color
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    lut[:len(palette)] = palette
    labels = seg.astype(np.int64)
    labels = np.where((labels >= 0) & (labels < 256), labels, 255)
    return lut[labels]


def ignore_color_for(palette: Sequence[Sequence[int]]) -> Color:
    """A colour for ignored pixels that no class of ``palette`` has: black,
    else white, else another primary."""
    used = {tuple(int(v) for v in p) for p in palette}
    for color in (IGNORE_COLOR, (255, 255, 255), (255, 0, 255), (0, 255, 255),
                  (255, 255, 0), (0, 0, 255), (255, 0, 0), (0, 255, 0)):
        if color not in used:
            return color
    return IGNORE_COLOR


def blend(image: np.ndarray,
          color: np.ndarray,
          opacity: float = 1.0) -> np.ndarray:
    """``color`` over ``image`` at ``opacity`` (1: the colours alone)."""
    if opacity >= 1.0:
        return color
    out = image.astype(np.float32) * (1 - opacity) + \
        color.astype(np.float32) * opacity
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def image_miou(pred: np.ndarray,
               gt: np.ndarray,
               num_classes: int,
               ignore_index: int = 255) -> float:
    """mIoU (in %) of one prediction, computed by mmseg's IoUMetric as for
    a one-image dataset: the mean IoU over the classes present in the
    ground truth or the prediction (ignored pixels left out); NaN when no
    pixel is valid."""
    import torch
    from mmseg.evaluation.metrics import IoUMetric
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.size != gt.size:
        raise ValueError(f'Prediction and ground truth differ in size: '
                         f'{pred.size} vs {gt.size} pixels.')
    areas = IoUMetric.intersect_and_union(
        torch.from_numpy(pred.reshape(-1).astype(np.int64)),
        torch.from_numpy(gt.reshape(-1).astype(np.int64)), num_classes,
        ignore_index)
    iou = IoUMetric.total_area_to_metrics(*areas, metrics=['mIoU'])['IoU']
    iou = iou[~np.isnan(iou)]
    return float(100.0 * iou.mean()) if iou.size else float('nan')


# --------------------------------------------------------------------------
# grid composition
# --------------------------------------------------------------------------


def fit_to_cell(img: np.ndarray,
                cell_size: Tuple[int, int],
                background: Color = BACKGROUND,
                nearest: bool = False) -> np.ndarray:
    """``img`` scaled to fit ``cell_size`` (h, w), aspect kept, centred on
    ``background``. Nearest-neighbour when enlarging, area averaging when
    shrinking; always nearest with ``nearest`` (coloured label maps keep
    their palette colours)."""
    ch, cw = cell_size
    h, w = img.shape[:2]
    if (h, w) == (ch, cw):
        return img
    scale = min(ch / h, cw / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_NEAREST if nearest or scale >= 1 else \
        cv2.INTER_AREA
    resized = cv2.resize(img, (nw, nh), interpolation=interp)
    out = np.empty((ch, cw, 3), dtype=np.uint8)
    out[:] = background
    y, x = (ch - nh) // 2, (cw - nw) // 2
    out[y:y + nh, x:x + nw] = resized
    return out


def cell_size_for(shape: Tuple[int, int], max_side: int) -> Tuple[int, int]:
    """(h, w) of a cell whose longer side is ``max_side``, for images of
    ``shape`` (h, w)."""
    h, w = shape[:2]
    scale = max_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def draw_text(canvas: np.ndarray,
              text: str,
              box: Tuple[int, int, int, int],
              color: Color = TEXT_COLOR,
              max_scale: float = 0.6,
              align: str = 'center') -> None:
    """Write ``text`` in ``box`` (x, y, w, h) of ``canvas`` (in place),
    shrunk to fit, vertically centred."""
    if not text:
        return
    x, y, w, h = box
    (tw, _), _ = cv2.getTextSize(text, FONT, 1.0, 1)
    (_, th), base = cv2.getTextSize('Ag', FONT, 1.0, 1)  # same for all
    scale = min(max_scale, 0.62 * h / max(th + base, 1), 0.96 * w / max(tw, 1))
    thickness = 1
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    tx = x + (w - tw) // 2 if align == 'center' else x + 2
    ty = y + (h + th) // 2
    cv2.putText(canvas, text, (tx, ty), FONT, scale, color, thickness,
                cv2.LINE_AA)


def grid_shape(num_rows: int,
               num_cols: int,
               cell_size: Tuple[int, int],
               pad: int = 4,
               title_height: int = 0,
               caption_height: int = 0) -> Tuple[int, int]:
    """(height, width) of a :func:`compose_grid` image: a ``pad`` margin
    around and between cells, a title band of ``title_height`` above the
    first row, a caption band of ``caption_height`` under every row."""
    ch, cw = cell_size
    height = pad + title_height + num_rows * (ch + caption_height + pad)
    width = pad + num_cols * (cw + pad)
    return height, width


def compose_grid(rows: Sequence[Sequence[Optional[np.ndarray]]],
                 titles: Optional[Sequence[str]] = None,
                 captions: Optional[Sequence[Sequence[Optional[str]]]] = None,
                 cell_size: Optional[Tuple[int, int]] = None,
                 pad: int = 4,
                 title_height: int = 24,
                 caption_height: int = 18,
                 background: Color = BACKGROUND,
                 text_color: Color = TEXT_COLOR) -> np.ndarray:
    """Lay RGB images out in a grid, with column titles and per-cell
    captions.

    Args:
        rows: One list per row of (H, W, 3) uint8 images; ``None`` leaves a
            cell blank. Images of another size than ``cell_size`` are fitted
            (:func:`fit_to_cell`).
        titles: One title per column, written in a band of ``title_height``
            above the grid (no band without titles).
        captions: Strings (or None) shaped like ``rows``, written in a band
            of ``caption_height`` under each row (no band without captions).
        cell_size: (h, w) of a cell; default the size of the first image.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB, of the size :func:`grid_shape`
        gives.
    """
    rows = [list(r) for r in rows]
    if not rows or not any(c is not None for r in rows for c in r):
        raise ValueError('compose_grid needs at least one image.')
    num_cols = max(len(r) for r in rows)
    if titles is not None and len(titles) != num_cols:
        raise ValueError(f'{len(titles)} titles for {num_cols} columns.')
    if cell_size is None:
        first = next(c for r in rows for c in r if c is not None)
        cell_size = first.shape[:2]
    ch, cw = cell_size
    t_h = title_height if titles is not None else 0
    c_h = caption_height if captions is not None else 0
    height, width = grid_shape(len(rows), num_cols, cell_size, pad, t_h, c_h)
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = background
    if titles is not None:
        for j, title in enumerate(titles):
            draw_text(canvas, str(title), (pad + j * (cw + pad), pad, cw, t_h),
                      text_color)
    y = pad + t_h
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            x = pad + j * (cw + pad)
            if img is not None:
                img = np.asarray(img)
                if img.ndim == 2:
                    img = np.repeat(img[..., None], 3, axis=2)
                canvas[y:y + ch, x:x + cw] = fit_to_cell(
                    img.astype(np.uint8), (ch, cw), background)
            if c_h and i < len(captions) and j < len(captions[i]):
                draw_text(
                    canvas,
                    captions[i][j] or '', (x, y + ch, cw, c_h),
                    text_color,
                    max_scale=0.45)
        y += ch + c_h + pad
    return canvas


def legend_strip(classes: Sequence[str],
                 palette: Sequence[Sequence[int]],
                 width: int,
                 ignore_color: Optional[Color] = IGNORE_COLOR,
                 row_height: int = 20,
                 pad: int = 4,
                 background: Color = BACKGROUND,
                 text_color: Color = TEXT_COLOR) -> np.ndarray:
    """A band ``width`` wide listing every class as a colour swatch and its
    name (an 'ignored' entry for ``ignore_color`` unless it is None),
    wrapped into as many lines as needed."""
    entries = [(str(c), tuple(int(v) for v in p))
               for c, p in zip(classes, palette)]
    if ignore_color is not None:
        entries.append(('ignored', tuple(ignore_color)))
    scale = 0.4
    swatch = row_height - 6
    items = []
    for name, color in entries:
        (tw, _), _ = cv2.getTextSize(name, FONT, scale, 1)
        items.append((name, color, swatch + 4 + tw + 12))
    lines: List[list] = [[]]
    used = pad
    for item in items:
        if lines[-1] and used + item[2] > width - pad:
            lines.append([])
            used = pad
        lines[-1].append(item)
        used += item[2]
    out = np.empty((len(lines) * row_height + pad, width, 3), dtype=np.uint8)
    out[:] = background
    for li, line in enumerate(lines):
        x, y = pad, li * row_height
        for name, color, item_w in line:
            top = y + (row_height - swatch) // 2
            cv2.rectangle(out, (x, top), (x + swatch - 1, top + swatch - 1),
                          color, -1)
            cv2.rectangle(out, (x, top), (x + swatch - 1, top + swatch - 1),
                          (90, 90, 90), 1)
            draw_text(
                out,
                name, (x + swatch + 4, y, item_w - swatch - 4, row_height),
                text_color,
                max_scale=scale,
                align='left')
            x += item_w
    return out


def save_png(path: str, rgb: np.ndarray) -> str:
    """Write an RGB image as a maximally compressed PNG."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    ok = cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]),
                     [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise IOError(f'Could not write {path}.')
    return path
