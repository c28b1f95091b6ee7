"""Plotly figures of pooling: the padded input with each window outlined in its own colour (and
max pooling's winners ringed), and the pooled grid in the windows' colours."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cnnviz.numbers import fmt
from cnnviz.render.colormaps import discrete_scale

# Okabe-Ito colours, one per pooling window (cycled): readable with every kind of colour vision
WINDOW_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


OVERHANG_MARK = "—"  # a cell past the padded input that ceil_mode's last window hangs over


def pool_input_figure(
    grid: np.ndarray,
    kernel: int,
    stride: int,
    padding: int,
    out_shape: tuple[int, int],
    winners: np.ndarray | None = None,
    title: str = "Input",
) -> go.Figure:
    """The (H, W) grid with its padding ("pad"), each window outlined in its own colour and, for
    max pooling, the winning cell of each window (flat indices from max_pool2d) ringed. Cells past
    the padded input that a ceil_mode window hangs over are marked OVERHANG_MARK: they hold
    nothing, are never read, and are not counted by average pooling."""
    h, w = grid.shape
    ho, wo = out_shape
    ph = h + 2 * padding + max(0, (ho - 1) * stride + kernel - (h + 2 * padding))
    pw = w + 2 * padding + max(0, (wo - 1) * stride + kernel - (w + 2 * padding))
    z = np.full((ph, pw), np.nan)
    z[padding : padding + h, padding : padding + w] = grid
    text = np.full((ph, pw), OVERHANG_MARK, dtype=object)  # past the padded input: nothing there
    text[: h + 2 * padding, : w + 2 * padding] = "pad"
    text[padding : padding + h, padding : padding + w] = np.vectorize(fmt)(grid)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale="Greys",
            showscale=False,
            xgap=2,
            ygap=2,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=18),
            hoverinfo="skip",
            zmin=np.nanmin(grid) - 1,
            zmax=np.nanmax(grid) * 1.6 + 1,
        )
    )
    for i in range(ho):
        for j in range(wo):
            color = WINDOW_COLORS[(i * wo + j) % len(WINDOW_COLORS)]
            r0, c0 = i * stride, j * stride
            inset = 0.08 * ((i + j) % 2)  # overlapping windows stay distinguishable
            fig.add_shape(
                type="rect",
                x0=c0 - 0.5 + inset,
                x1=c0 + kernel - 0.5 - inset,
                y0=r0 - 0.5 + inset,
                y1=r0 + kernel - 0.5 - inset,
                line=dict(color=color, width=3),
            )
            if winners is not None and winners[i, j] >= 0:
                r, c = divmod(int(winners[i, j]), w)
                fig.add_shape(
                    type="circle",
                    x0=c + padding - 0.42,
                    x1=c + padding + 0.42,
                    y0=r + padding - 0.42,
                    y1=r + padding + 0.42,
                    line=dict(color=color, width=4),
                )
    side = 52 * max(ph, pw) + 80
    fig.update_layout(
        title=title,
        height=min(side, 640),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
        xaxis=dict(visible=False, range=[-0.6, pw - 0.4], scaleanchor="y"),
        yaxis=dict(visible=False, autorange="reversed"),
    )
    return fig


def pool_output_figure(out: np.ndarray, title: str, colored: bool = True) -> go.Figure:
    """The pooled grid, each cell in its window's colour, its value written in it."""
    ho, wo = out.shape
    idx = np.arange(ho * wo).reshape(ho, wo) % len(WINDOW_COLORS)
    n = len(WINDOW_COLORS)
    fig = go.Figure(
        go.Heatmap(
            z=idx if colored else np.zeros_like(idx),
            zmin=0,
            zmax=n,
            colorscale=discrete_scale(WINDOW_COLORS)
            if colored
            else [[0, "#eeeeee"], [1, "#eeeeee"]],
            showscale=False,
            xgap=2,
            ygap=2,
            text=np.vectorize(fmt)(out),
            texttemplate="%{text}",
            textfont=dict(size=20, color="white" if colored else "black"),
            hoverinfo="skip",
        )
    )
    lines = title.count("<br>")  # a title of several lines needs room above the grid
    side = 52 * max(ho, wo) + 80 + 22 * lines
    fig.update_layout(
        title=title,
        height=min(max(side, 160), 640 + 22 * lines),
        margin=dict(l=10, r=10, t=40 + 22 * lines, b=10),
        plot_bgcolor="white",
        xaxis=dict(visible=False, scaleanchor="y"),
        yaxis=dict(visible=False, autorange="reversed"),
    )
    return fig
