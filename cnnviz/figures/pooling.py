"""Pooling's grids (`CellGrid`s, drawn as HTML by `cnnviz.figures.grid`): the padded input with
each window outlined in its own colour (and max pooling's winners ringed), and the pooled grid in
the windows' colours."""

from __future__ import annotations

import numpy as np

from cnnviz.figures.grid import CellGrid, Mark, cell_px
from cnnviz.numbers import fmt
from cnnviz.render.colormaps import Range, colorize, rgb

# Okabe-Ito colours, one per pooling window (cycled): readable with every kind of colour vision
WINDOW_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


OVERHANG_MARK = "—"  # a cell past the padded input that ceil_mode's last window hangs over


def _hex(color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in color))


def _white_reads_better(color: str) -> bool:
    """Is white text more legible than black on this fill? (WCAG relative luminance: white wins
    below about 0.18; so yellow and sky blue get black numbers, the dark blues white ones.)"""
    srgb = [v / 255 for v in rgb(color)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return (1.05 / (y + 0.05)) >= ((y + 0.05) / 0.05)


def pool_input_figure(
    grid: np.ndarray,
    kernel: int,
    stride: int,
    padding: int,
    out_shape: tuple[int, int],
    winners: np.ndarray | None = None,
    title: str = "Input",
) -> CellGrid:
    """The (H, W) grid with its padding ("pad"), each window outlined in its own colour and, for
    max pooling, the winning cell of each window (flat indices from max_pool2d) ringed. Cells past
    the padded input that a ceil_mode window hangs over are marked OVERHANG_MARK: they hold
    nothing, are never read, and are not counted by average pooling. The cells are greys by
    value, light enough for black numbers; padding and overhang are white."""
    h, w = grid.shape
    ho, wo = out_shape
    ph = h + 2 * padding + max(0, (ho - 1) * stride + kernel - (h + 2 * padding))
    pw = w + 2 * padding + max(0, (wo - 1) * stride + kernel - (w + 2 * padding))
    text = np.full((ph, pw), OVERHANG_MARK, dtype=object)  # past the padded input: nothing there
    text[: h + 2 * padding, : w + 2 * padding] = "pad"
    text[padding : padding + h, padding : padding + w] = np.vectorize(fmt)(grid)
    fills = np.full((ph, pw), "#ffffff", dtype=object)
    if grid.size:
        lo, hi = float(np.nanmin(grid)) - 1, float(np.nanmax(grid)) * 1.6 + 1
        shades = colorize(grid, "Greys", Range(lo, hi if hi > lo else lo + 1, False))
        fills[padding : padding + h, padding : padding + w] = np.apply_along_axis(_hex, -1, shades)
    marks = []
    for i in range(ho):
        for j in range(wo):
            color = WINDOW_COLORS[(i * wo + j) % len(WINDOW_COLORS)]
            r0, c0 = i * stride, j * stride
            inset = 0.08 * ((i + j) % 2)  # overlapping windows stay distinguishable
            marks.append(Mark(r0, c0, r0 + kernel - 1, c0 + kernel - 1, color, 3, inset))
            if winners is not None and winners[i, j] >= 0:
                r, c = divmod(int(winners[i, j]), w)
                r, c = r + padding, c + padding
                marks.append(Mark(r, c, r, c, color, 4, 0.08, ring=True))
    px = cell_px(ph, pw, most=52)
    return CellGrid(
        labels=text.astype(str),
        fills=fills.astype(str),
        title=title,
        marks=tuple(marks),
        px=px,
        font=max(11, min(18, int(px * 0.4))),
        gap_color="#ffffff",
    )


def pool_output_figure(out: np.ndarray, title: str, colored: bool = True) -> CellGrid:
    """The pooled grid, each cell in its window's colour, its value written in it (white or black,
    whichever reads better on that colour)."""
    ho, wo = out.shape
    idx = np.arange(ho * wo).reshape(ho, wo) % len(WINDOW_COLORS)
    fills = np.array(WINDOW_COLORS)[idx] if colored else np.full((ho, wo), "#eeeeee")
    px = cell_px(ho, wo)
    return CellGrid(
        labels=np.vectorize(fmt, otypes=[str])(out) if out.size else out.astype(str),
        fills=fills.astype(str),
        title=title,
        px=px,
        font=max(11, min(20, int(px * 0.4))),
        gap_color="#ffffff",
        light=np.vectorize(_white_reads_better, otypes=[bool])(fills) if colored else None,
        bold=colored,
    )
