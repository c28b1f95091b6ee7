"""The grids of a step-by-step walk the Step by step page shows (`CellGrid`s, drawn as HTML by
`cnnviz.figures.grid`); the Backprop and Ideas pages draw their grids the same way.

The cells (labels and kinds) come from `cnnviz.render.cells`, shared with the slide frames.
"""

from __future__ import annotations

import numpy as np

from cnnviz.figures.grid import CellGrid, Mark, cell_px
from cnnviz.render.cells import (
    BOX,
    COLORS,
    DARK,
    canvas_cells,
    cell_labels,
    grid_labels,
    kernel_cells,
    output_kinds,
    same,
    scatter_input_kinds,
    window_kinds,
)
from cnnviz.walks import ScatterWalk, StampStep, WindowStep, WindowWalk


def cells_figure(
    labels: np.ndarray,
    kinds: np.ndarray,
    title: str = "",
    boxes: list[tuple[int, int, int, int]] = (),
    max_width: int = 600,
) -> CellGrid:
    """A grid of cells: each with a kind (a key of COLORS) and a label written in it; `boxes`
    are (top, left, bottom, right) outlines drawn over it."""
    rows, cols = labels.shape
    px = cell_px(rows, cols, max_width)
    font = max(11, int(px * (0.42 if labels.dtype.kind == "U" and _longest(labels) <= 3 else 0.32)))
    kinds = np.asarray(kinds).astype(str)
    fills = np.vectorize(COLORS.__getitem__, otypes=[str])(kinds) if kinds.size else kinds
    return CellGrid(
        labels=labels.astype(str),
        fills=fills,
        title=title,
        marks=tuple(Mark(t, left, b, r, BOX) for t, left, b, r in boxes),
        px=px,
        font=font,
        light=np.isin(kinds, list(DARK)),
    )


def _longest(labels: np.ndarray) -> int:
    return max((len(s) for s in labels.ravel()), default=0)


def input_figure(
    walk: WindowWalk,
    step: WindowStep | None,
    channel: int = 0,
    max_width: int = 600,
    title: str | None = None,
) -> CellGrid:
    """The drawn input of one channel (padding frame grey), the window's taps orange and
    outlined (dilation holes inside the outline keep their colour); max pooling's winner dark."""
    part = step.parts[channel] if step is not None else None
    kinds = window_kinds(walk, step, part)
    boxes = [step.box] if step is not None else []
    if title is None:
        title = f"Input, channel {channel + 1}" if walk.grid.shape[0] > 1 else "Input"
    return cells_figure(grid_labels(walk, channel), kinds, title, boxes, max_width)


def kernel_figure(
    weights: np.ndarray, dilation=(1, 1), title: str = "Kernel", max_width: int = 400
) -> CellGrid:
    """A kernel slice drawn as it sits on the input: with dilation, empty gaps between taps."""
    labels, kinds = kernel_cells(weights, dilation)
    return cells_figure(labels, kinds, title, (), max_width)


def pair_figure(
    weights: np.ndarray, dilation, values: np.ndarray, title: str, max_width: int = 400
) -> CellGrid:
    """The kernel slice and its products (or stamp) as one figure, side by side with an empty
    column between: one figure fits a narrow column where two nested columns would not."""
    kl, kk = kernel_cells(weights, dilation)
    vl, vk = cell_labels(values), same(values, "window")
    rows = max(kl.shape[0], vl.shape[0])

    def pad(a: np.ndarray, fill: str) -> np.ndarray:
        out = np.full((rows, a.shape[1]), fill, dtype=object)
        out[: a.shape[0]] = a
        return out.astype(str)

    gap_l, gap_k = np.full((rows, 1), "", dtype=object), np.full((rows, 1), "gap", dtype=object)
    labels = np.hstack([pad(kl, ""), gap_l, pad(vl, "")]).astype(str)
    kinds = np.hstack([pad(kk, "gap"), gap_k, pad(vk, "gap")]).astype(str)
    return cells_figure(labels, kinds, title, (), max_width)


def values_figure(
    values: np.ndarray, title: str, kind: str = "weight", max_width: int = 400
) -> CellGrid:
    """A small grid of numbers (products, a stamp) in one colour."""
    return cells_figure(cell_labels(values), same(values, kind), title, (), max_width)


def output_figure(
    grid: np.ndarray, current: tuple[int, int] | None, title: str = "Output", max_width: int = 600
) -> CellGrid:
    """An output map: computed cells with their number, the current one orange, later ones empty."""
    return cells_figure(cell_labels(grid), output_kinds(grid, current), title, (), max_width)


# ------------------------------------------------------------------------------ transposed


def scatter_input_figure(
    walk: ScatterWalk, step: StampStep, channel: int = 0, max_width: int = 600
) -> CellGrid:
    """The input of one channel: cells already stamped blue, the current one orange."""
    kinds = scatter_input_kinds(walk, step)
    title = f"Input, channel {channel + 1}" if walk.input.shape[0] > 1 else "Input"
    return cells_figure(
        cell_labels(walk.input[channel]),
        kinds,
        title,
        [(step.row, step.col, step.row, step.col)],
        max_width,
    )


def canvas_figure(walk: ScatterWalk, step: StampStep, max_width: int = 700) -> CellGrid:
    """The uncropped canvas: every stamp so far added up, the current stamp outlined; outside the
    inner frame is what padding crops. output_padding moves the frame's bottom/right edge out:
    over stamped cells padding would have cut, then past the last stamp (cells no stamp reaches,
    blank here; the output holds only the bias there)."""
    labels, kinds = canvas_cells(walk, step)
    boxes = [step.box]
    title = "Canvas: all stamps so far"
    if (kinds == "cropped").any():
        boxes.append(walk.crop)
    return cells_figure(labels, kinds.astype(str), title, boxes, max_width)
