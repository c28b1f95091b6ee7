"""A grid of numbered cells as plain HTML: each cell a colour with its number written in it, and
outlines (a window, a crop) or rings (a winner) drawn over it. What the Step by step, Pooling,
Backprop and Ideas pages draw their grids with.

Plain HTML instead of a chart library: a page of grids costs the browser a fraction of what the
same grids cost as Plotly heatmaps (Plotly's 4.7 MB script is loaded and started on every page
that shows one: about 0.55 s of CPU per page load, measured in Chromium), the Play button only
swaps text, the numbers are text a student can select and copy, and a grid in a column narrower
than itself shrinks (cells and type together) instead of being cut.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np

GAP = 2  # px between cells (the gap colour shows as thin lines)
TITLE_REM = 1.1  # a title's size, of the page's type size (larger when presenting)


def cell_px(rows: int, cols: int, max_width: int = 580, most: int = 64) -> int:
    """A cell's side in px at natural size: at most `most`, so that the grid is no wider than
    `max_width` (20 px of it for the frame) and no taller than 560 px; never under 22."""
    return int(max(22, min(most, (max_width - 20) // max(cols, 1), 560 // max(rows, 1))))


@dataclass(frozen=True)
class Mark:
    """A rectangle drawn over cells top..bottom, left..right (inclusive); `inset` (a fraction of
    a cell) pulls it inwards, `ring` draws the ellipse inside the rectangle instead."""

    top: int
    left: int
    bottom: int
    right: int
    color: str
    width: int = 4
    inset: float = 0.0
    ring: bool = False


@dataclass(frozen=True)
class CellGrid:
    """What a grid shows: a label and a fill colour per cell, the cells written white and bold
    (`light`), marks over them, a title, and its natural size: `px` per cell, `font` px type."""

    labels: np.ndarray
    fills: np.ndarray
    title: str = ""
    marks: tuple[Mark, ...] = ()
    px: int = 40
    font: int = 14
    light: np.ndarray | None = None
    bold: bool = False
    gap_color: str = "#b0b0b0"

    @property
    def width(self) -> int:
        """Natural width in px: cells, gaps and the frame."""
        cols = self.labels.shape[1] if self.labels.ndim == 2 else 0
        return cols * self.px + (cols + 1) * GAP


def _title(text: str) -> str:
    """The title, escaped; a "<br>" in it breaks the line."""
    return "<br>".join(html.escape(part) for part in text.split("<br>"))


def grid_html(grid: CellGrid, key: str = "") -> str:
    """The grid as one HTML block. Every cell is a div with data-r/data-c (0-based) and its
    label as text; the block carries data-grid=`key`, so tests and styles can find it."""
    rows, cols = grid.labels.shape if grid.labels.ndim == 2 else (0, 0)
    w = max(grid.width, 1)

    def scaled(px: float) -> str:  # px at natural size, smaller in a narrower column
        return f"min({px:.4g}px, {px * 100 / w:.4g}cqw)"

    light = grid.light if grid.light is not None else np.zeros((rows, cols), bool)
    parts = [f'<div data-grid="{html.escape(key)}" style="width:100%;margin:0 0 0.5rem 0">']
    if grid.title:  # as wide as the column: a short grid's title does not wrap
        parts.append(
            f'<div data-grid-title style="font-size:{TITLE_REM}rem;font-weight:600;'
            f'line-height:1.3;margin:0 0 0.35rem 0">{_title(grid.title)}</div>'
        )
    if rows and cols:
        # the cells' box: its own size, or the column's when that is narrower (`scaled`)
        parts.append(f'<div style="container-type:inline-size;width:100%;max-width:{w}px">')
        parts.append(
            f'<div style="display:grid;grid-template-columns:repeat({cols},minmax(0,1fr));'
            f"gap:{GAP}px;padding:{GAP}px;background:{grid.gap_color};"
            f"font-size:max(10px,{scaled(grid.font)});line-height:1;"
            'font-variant-numeric:tabular-nums;color:black">'
        )
        for r in range(rows):
            for c in range(cols):
                style = (
                    f"grid-area:{r + 1}/{c + 1};aspect-ratio:1;background:{grid.fills[r, c]};"
                    "display:flex;align-items:center;justify-content:center;white-space:nowrap"
                )
                if light[r, c]:
                    style += ";color:white;font-weight:700"
                elif grid.bold:
                    style += ";font-weight:600"
                parts.append(
                    f'<div data-r="{r}" data-c="{c}" style="{style}">'
                    f"{html.escape(str(grid.labels[r, c]))}</div>"
                )
        for m in grid.marks:
            # over the gaps around the cells it spans; an inset pulls it in by a share of a cell
            margin = scaled(m.inset * grid.px) if m.inset else "0px"
            outset = 0 if m.ring else GAP
            style = (
                f"grid-area:{m.top + 1}/{m.left + 1}/{m.bottom + 2}/{m.right + 2};"
                f"margin:calc({margin} - {outset}px);border:{m.width}px solid {m.color};"
                "pointer-events:none;z-index:1" + (";border-radius:50%" if m.ring else "")
            )
            parts.append(f'<div data-mark style="{style}"></div>')
        parts.append("</div></div>")
    parts.append("</div>")
    return "".join(parts)


_CELL = re.compile(r'<div data-r="(\d+)" data-c="(\d+)"[^>]*>(.*?)</div>')


def read_labels(text: str) -> np.ndarray:
    """The labels of the grid `grid_html` wrote in `text`, as a (rows, cols) array of str: what a
    reader of the page sees in its cells."""
    cells = [(int(r), int(c), html.unescape(label)) for r, c, label in _CELL.findall(text)]
    if not cells:
        return np.empty((0, 0), dtype=str)
    out = np.full((max(r for r, _, _ in cells) + 1, max(c for _, c, _ in cells) + 1), "", object)
    for r, c, label in cells:
        out[r, c] = label
    return out.astype(str)
