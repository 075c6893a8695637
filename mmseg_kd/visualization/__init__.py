# Copyright (c) mmseg_kd contributors. All rights reserved.
"""Pictures: prediction grids and loss curves."""
from .image_grid import (BACKGROUND, FONT, IGNORE_COLOR, TEXT_COLOR, Color,
                         blend, cell_size_for, colorize, compose_grid,
                         draw_text, fit_to_cell, grid_shape, ignore_color_for,
                         image_miou, legend_strip, save_png)
from .loss_log import (DIAGNOSTICS, diagnostic_series, find_logs,
                       is_diagnostic, loss_kind, loss_series, plot_diagnostics,
                       plot_loss_terms, read_log, read_scalars, read_text_log,
                       series_to_csv, smooth, split_runs)

__all__ = [
    'BACKGROUND', 'FONT', 'IGNORE_COLOR', 'TEXT_COLOR', 'Color', 'blend',
    'cell_size_for', 'colorize', 'compose_grid', 'draw_text', 'fit_to_cell',
    'grid_shape', 'ignore_color_for', 'image_miou', 'legend_strip', 'save_png',
    'find_logs', 'loss_kind', 'loss_series', 'plot_loss_terms', 'DIAGNOSTICS',
    'diagnostic_series', 'is_diagnostic', 'plot_diagnostics', 'read_log',
    'read_scalars', 'read_text_log', 'series_to_csv', 'smooth', 'split_runs'
]
