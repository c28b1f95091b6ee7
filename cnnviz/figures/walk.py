"""Plotly figures of a step-by-step walk: the grids of cells the Step by step page shows.

The cells (labels and kinds) come from `cnnviz.render.cells`, shared with the slide frames.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

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
from cnnviz.render.colormaps import discrete_scale
from cnnviz.walks import ScatterWalk, StampStep, WindowStep, WindowWalk


def _cell_px(rows: int, cols: int, max_width: int) -> int:
    return int(max(22, min(64, (max_width - 20) // max(cols, 1), 560 // max(rows, 1))))


def cells_figure(
    labels: np.ndarray,
    kinds: np.ndarray,
    title: str = "",
    boxes: list[tuple[int, int, int, int]] = (),
    max_width: int = 600,
) -> go.Figure:
    """A grid of cells: each with a kind (a key of COLORS) and a label written in it; `boxes`
    are (top, left, bottom, right) outlines drawn over it."""
    rows, cols = labels.shape
    names = sorted({str(k) for k in kinds.ravel()})
    index = {n: i for i, n in enumerate(names)}
    z = np.vectorize(index.get)(kinds).astype(float) if kinds.size else np.zeros(kinds.shape)
    n = max(len(names), 1)
    if len(names) == 1:
        z = z * 0
    px = _cell_px(rows, cols, max_width)
    font = max(11, int(px * (0.42 if labels.dtype.kind == "U" and _longest(labels) <= 3 else 0.32)))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale=discrete_scale([COLORS[name] for name in names]),
            zmin=0,
            zmax=n,
            showscale=False,
            xgap=2,
            ygap=2,
            text=labels,
            hoverinfo="text" if labels.size else "skip",
        )
    )
    fig.update_traces(texttemplate="%{text}", textfont=dict(size=font, color="black"))
    for r, c in zip(*np.nonzero(np.isin(kinds, list(DARK)))):  # white text on dark cells
        fig.add_annotation(
            x=c,
            y=r,
            text=f"<b>{labels[r, c]}</b>",
            showarrow=False,
            font=dict(size=font, color="white"),
            bgcolor=COLORS["winner"],
        )
    for top, left, bottom, right in boxes:
        fig.add_shape(
            type="rect",
            x0=left - 0.5,
            x1=right + 0.5,
            y0=top - 0.5,
            y1=bottom + 0.5,
            line=dict(color=BOX, width=4),
        )
    top_margin = 44 if title else 6
    fig.update_layout(
        title=dict(text=title, font=dict(size=18), x=0, xanchor="left"),
        width=px * cols + 20,
        height=px * rows + top_margin + 10,
        margin=dict(l=10, r=10, t=top_margin, b=10),
        plot_bgcolor="#b0b0b0",
        xaxis=dict(visible=False, range=[-0.53, cols - 0.47], constrain="domain"),
        yaxis=dict(visible=False, range=[rows - 0.47, -0.53], scaleanchor="x", constrain="domain"),
    )
    return fig


def _longest(labels: np.ndarray) -> int:
    return max((len(s) for s in labels.ravel()), default=0)


def input_figure(
    walk: WindowWalk,
    step: WindowStep | None,
    channel: int = 0,
    max_width: int = 600,
    title: str | None = None,
) -> go.Figure:
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
) -> go.Figure:
    """A kernel slice drawn as it sits on the input: with dilation, empty gaps between taps."""
    labels, kinds = kernel_cells(weights, dilation)
    return cells_figure(labels, kinds, title, (), max_width)


def pair_figure(
    weights: np.ndarray, dilation, values: np.ndarray, title: str, max_width: int = 400
) -> go.Figure:
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
) -> go.Figure:
    """A small grid of numbers (products, a stamp) in one colour."""
    return cells_figure(cell_labels(values), same(values, kind), title, (), max_width)


def output_figure(
    grid: np.ndarray, current: tuple[int, int] | None, title: str = "Output", max_width: int = 600
) -> go.Figure:
    """An output map: computed cells with their number, the current one orange, later ones empty."""
    return cells_figure(cell_labels(grid), output_kinds(grid, current), title, (), max_width)


# ------------------------------------------------------------------------------ transposed


def scatter_input_figure(
    walk: ScatterWalk, step: StampStep, channel: int = 0, max_width: int = 600
) -> go.Figure:
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


def canvas_figure(walk: ScatterWalk, step: StampStep, max_width: int = 700) -> go.Figure:
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
