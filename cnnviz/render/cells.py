"""A step-by-step walk's grids as cells: a label and a kind (a key of COLORS) for each.

The data both pictures of a walk draw: the page's HTML grids (`cnnviz.figures.walk`) and the
slide frames and GIF (`cnnviz.render.frames`). Numbers are the walk's own (`cnnviz.numbers.fmt`).
Colours are a colour-blind-safe blue/orange/grey set; every cell carries its number, so colour
is never the only cue.
"""

from __future__ import annotations

import numpy as np

from cnnviz.numbers import fmt
from cnnviz.walks import (
    INPUT,
    INSERTED,
    OVERHANG,
    PADDING,
    ScatterWalk,
    StampStep,
    WindowStep,
    WindowWalk,
)

COLORS = {
    "input": "#deebf7",
    "padding": "#d9d9d9",
    "inserted zero": "#ffffff",
    "ceil_mode overhang": "#f0f0f0",
    "window": "#fdae6b",
    "window on padding": "#f6cfa8",
    "winner": "#d94801",
    "weight": "#dadaeb",
    "gap": "#ffffff",
    "done": "#c6dbef",
    "current": "#fdae6b",
    "empty": "#ffffff",
    "cropped": "#d9d9d9",
}
BOX = "#a63603"  # the window's outline
_BASE = {
    INPUT: "input",
    PADDING: "padding",
    INSERTED: "inserted zero",
    OVERHANG: "ceil_mode overhang",
}
DARK = {"winner"}  # cells whose text is white


def cell_labels(a: np.ndarray) -> np.ndarray:
    """Each number of `a` as the walk writes it."""
    return np.vectorize(fmt, otypes=[str])(a) if a.size else a.astype(str)


def same(a: np.ndarray, kind: str) -> np.ndarray:
    """Every cell of `a`'s shape of one kind."""
    return np.full(a.shape, kind, dtype=object).astype(str)


def grid_labels(walk: WindowWalk, channel: int) -> np.ndarray:
    """The drawn grid's numbers; cells past the padded input (ceil_mode's overhang) hold nothing,
    so they stay blank rather than show the fill the engine pads them with."""
    out = cell_labels(walk.grid[channel])
    out[walk.codes == OVERHANG] = ""
    return out


def window_kinds(walk: WindowWalk, step: WindowStep | None, part=None) -> np.ndarray:
    """The drawn input's kinds: padding, overhang, the window's taps; with `part` (one channel's
    share of the step), max pooling's winner in it."""
    kinds = np.vectorize(_BASE.get, otypes=[object])(walk.codes)
    if step is not None:
        taps = np.ix_(step.rows, step.cols)
        codes = walk.codes[taps]
        kinds[taps] = np.where(
            codes == INPUT,
            "window",
            np.where(codes == OVERHANG, "ceil_mode overhang", "window on padding"),
        )
        if part is not None and part.winner is not None:
            kinds[step.rows[part.winner[0]], step.cols[part.winner[1]]] = "winner"
    return kinds.astype(str)


def kernel_cells(weights: np.ndarray, dilation) -> tuple[np.ndarray, np.ndarray]:
    """A kernel slice as it sits on the input: with dilation, empty gaps between taps."""
    dh, dw = dilation
    kh, kw = weights.shape
    out = np.full((dh * (kh - 1) + 1, dw * (kw - 1) + 1), "", dtype=object)
    kinds = np.full(out.shape, "gap", dtype=object)
    out[::dh, ::dw], kinds[::dh, ::dw] = cell_labels(weights), "weight"
    return out.astype(str), kinds.astype(str)


def output_kinds(grid: np.ndarray, current: tuple[int, int] | None = None) -> np.ndarray:
    """An output map's kinds: computed cells done, later ones empty, `current` this step's."""
    kinds = np.where(np.isnan(grid), "empty", "done").astype(object)
    if current is not None:
        kinds[current] = "current"
    return kinds.astype(str)


def canvas_cells(walk: ScatterWalk, step: StampStep) -> tuple[np.ndarray, np.ndarray]:
    """The uncropped canvas of a transposed conv: stamps so far, this stamp, what is cropped."""
    top, left, bottom, right = walk.crop
    kinds = np.full(walk.canvas_shape, "cropped", dtype=object)
    kinds[top : bottom + 1, left : right + 1] = "input"
    out = cell_labels(step.canvas)
    out[~walk.stamped(step.index)] = ""
    kinds[np.ix_(step.rows, step.cols)] = "window"
    return out, kinds.astype(str)


def scatter_input_kinds(walk: ScatterWalk, step: StampStep) -> np.ndarray:
    """A transposed conv's input: cells already stamped done, the current one the window."""
    h, w = walk.input.shape[-2:]
    kinds = np.where(np.arange(h * w).reshape(h, w) < step.index, "done", "input").astype(object)
    kinds[step.row, step.col] = "window"
    return kinds.astype(str)
