"""Drawing one step of a walk on the Step by step page: the grids (HTML, numbers in the
cells), the arithmetic in large type, the legend, and the step or whole walk as PNG / GIF."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import explain, walks
from cnnviz.figures.walk import (
    canvas_figure,
    input_figure,
    output_figure,
    pair_figure,
    scatter_input_figure,
)
from cnnviz.numbers import fmt
from cnnviz.render.frames import frame_png, walk_gif
from cnnviz.ui.common import COUNT_FROM_0, show_grid
from cnnviz.ui.present import presentation_mode

PAGE_WIDTH = 1000  # pixels the page's main area gives the figures, roughly
PRESENT_WIDTH = 1200  # the same without the sidebar (presentation mode)


def big(text: str, key: str | None = None, size: float = 1.45) -> None:
    """A line of arithmetic in large type (a speaker projects this page)."""
    box = st.container(key=key) if key else st.container()
    box.markdown(
        f"<div style='font-size:{size}rem;line-height:1.45'>{text}</div>", unsafe_allow_html=True
    )


def draw_window_step(walk, k: int, s: dict, label: str) -> None:
    """One convolution or pooling step: each channel's window, kernel slice and arithmetic;
    the output so far."""
    step = walk.step(k)
    c = walk.grid.shape[0]
    pool = walk.mode in ("max_pool", "avg_pool")
    # presenting one channel: input | kernel, products and sum | output, all on one screen
    three = presentation_mode() and c == 1
    width = (PRESENT_WIDTH if three else PAGE_WIDTH) // (3 if three else c + 1)
    cols = st.columns(3 if three else c + 1, gap="medium")
    lines = explain.window_equation(walk.mode, step)
    is_t = walk.mode == "conv_transpose_as_conv"
    for part, col in zip(step.parts, cols):
        with col:
            title = None
            if is_t:
                title = "Zero-inserted input" + (f", channel {part.channel + 1}" if c > 1 else "")
            show_grid(input_figure(walk, step, part.channel, width, title), f"in_{part.channel}")
        with cols[1] if three else col:
            if part.weights is not None:  # one figure: it fits a narrow column
                kname = "Kernel, flipped" if is_t else "Kernel"
                kname += f" slice {part.channel + 1}" if c > 1 else ""
                show_grid(
                    pair_figure(
                        part.weights, walk.dilation, part.products, f"{kname}  |  Products", width
                    ),
                    f"kp_{part.channel}",
                )
            big(lines[part.channel].replace("×", " × "), size=1.45 if c == 1 else 1.15)
    with cols[-1]:
        out = walk.output_until(k)
        for o in range(out.shape[0]):
            title = "Output" if out.shape[0] == 1 else f"Output, channel {o + 1}"
            show_grid(output_figure(out[o], (step.row, step.col), title, width), f"out_{o}")
        big(explain.cell_text(k, walk.n_steps, step.row, step.col, step.values), key="cell_value")
        if not pool and len(lines) > len(step.parts):
            big(lines[-1], key="total")
        if pool and walk.mode == "max_pool":
            st.caption("Dark cell: the winner (the first one in reading order on a tie).")
    legend(walk, s)
    export(walk, k, label)


def legend(walk, s: dict) -> None:
    codes = set(np.unique(walk.codes).tolist())
    words = explain.legend_words(walk.mode, codes, walk.dilation, s.get("padding_mode", "zeros"))
    st.caption(" · ".join(words) + ". Output cells not computed yet stay empty. " + COUNT_FROM_0)


def draw_stamp_step(walk: walks.ScatterWalk, k: int, label: str) -> None:
    """One stamp of a transposed convolution: each channel's stamp, the canvas, the output."""
    step = walk.step(k)
    c = walk.input.shape[0]
    lines = explain.stamp_equation(walk, step)
    # one channel: everything in one row; several: the channels' row, then canvas and output
    if c == 1:
        cols = st.columns(3, gap="medium")
        chan_cols, canvas_col, out_col, width = cols[:1], cols[1], cols[2], PAGE_WIDTH // 3
    else:
        chan_cols, width = st.columns(c, gap="medium"), PAGE_WIDTH // c
        canvas_col, out_col = st.columns(2, gap="medium")
    for ch, col in enumerate(chan_cols):
        with col:
            show_grid(scatter_input_figure(walk, step, ch, width), f"sin_{ch}")
            kname = "Kernel" + (f" slice {ch + 1}" if c > 1 else "")
            show_grid(
                pair_figure(
                    walk.weight[ch], walk.dilation, step.stamps[ch], f"{kname}  |  Stamp", width
                ),
                f"sk_{ch}",
            )
            big(lines[ch].replace("×", " × "), size=1.45 if c == 1 else 1.15)
    wide = PAGE_WIDTH // 2 if c > 1 else width
    with canvas_col:
        show_grid(canvas_figure(walk, step, wide), "canvas")
        if c > 1:
            big(lines[-1])
    with out_col:
        bias = "" if walk.bias is None else f" + bias {fmt(walk.bias)}"
        out = walk.output_until(k)
        show_grid(output_figure(out, None, "Output (cropped" + bias + ")", wide), "out_0")
        big(explain.stamp_cell_text(k, walk, step), key="cell_value")
    st.caption(
        "Orange: the current input cell and where its stamp lands. Blue input cells have "
        "stamped already. The canvas adds every stamp; the grey border (if any) is what padding crops. "
        + explain.canvas_text(walk)
        + " The output is the canvas inside the frame, plus the bias; its cells no stamp has "
        "reached yet stay empty until the last step. " + COUNT_FROM_0
    )
    export(walk, k, label)


def export(walk, k: int, label: str) -> None:
    """PNG of this frame and a GIF of the whole walk, made only when asked for."""
    with st.container(horizontal=True, key="export"):
        st.download_button(
            "This step as PNG",
            lambda: frame_png(walk, k, label),
            file_name=f"step_{k + 1}.png",
            mime="image/png",
            on_click="ignore",
            icon=":material/image:",
            key="png",
        )
        st.download_button(
            "The whole walk as GIF",
            lambda: walk_gif(walk, label),
            file_name="walk.gif",
            mime="image/gif",
            on_click="ignore",
            icon=":material/animation:",
            key="gif",
        )
        st.caption(
            "A long or large walk keeps evenly spaced steps in the GIF, first and last "
            "included, so the file stays a slide's size."
        )
