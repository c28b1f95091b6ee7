"""Pooling: max, average and global average side by side, on a small grid and on your image."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz.figures.pooling import OVERHANG_MARK, pool_input_figure, pool_output_figure
from cnnviz.kernels import format_kernel
from cnnviz.render.png import picture_bytes, to_uint8, upscale
from cnnviz.shapes import SettingError
from cnnviz.size_words import avg_pool_divisor_text
from cnnviz.ui import quiz as quiz_ui
from cnnviz.ui.common import (
    code_expander,
    run_safely,
    see_also,
    show_grid,
    show_source,
)
from cnnviz.ui.grid_editor import edit_grid
from cnnviz.ui.image_input import SOURCES, pick_image, show_refusal
from cnnviz.ui.links import hideable, share_link
from cnnviz.ui.params import fix_setter, grid_from_link, sync_url
from cnnviz.ui.present import settings_box
from cnnviz.ui.sizes import CEIL_HELP, CEIL_LABEL, refuse, show_formulas

DEFAULT_GRID = "1 3 2 1; 4 6 5 0; 3 1 1 2; 0 2 4 3"
MAX_GRID = 12
KEYS = {"kernel_size": "k", "stride": "s", "padding": "p", "dilation": None}  # None: always 1


def _set_grid(g: np.ndarray) -> None:
    st.session_state["grid_text"] = format_kernel(g)
    st.session_state["grid_version"] = st.session_state.get("grid_version", 0) + 1


def _grid_resized(base: np.ndarray) -> None:
    rows, cols = st.session_state["grid_rows"], st.session_state["grid_cols"]
    g = np.zeros((rows, cols), np.float32)
    h, w = min(rows, base.shape[0]), min(cols, base.shape[1])
    g[:h, :w] = base[:h, :w]
    fresh = np.random.default_rng(rows * 100 + cols).integers(0, 10, (rows, cols))
    mask = np.ones_like(g, bool)
    mask[:h, :w] = False
    g[mask] = fresh[mask]  # new cells get small whole numbers, easy to compare by eye
    _set_grid(g)


def grid_input() -> np.ndarray:
    """The small grid: from the session, else the URL (`grid`), else the default."""
    g = grid_from_link("grid_text", "grid", DEFAULT_GRID, MAX_GRID, "grid")
    text = st.session_state["grid_text"]
    sync_url("grid", text if text != DEFAULT_GRID else None)
    v = st.session_state.get("grid_version", 0)
    edit_grid(g, f"pool_grid_{v}", _set_grid, note_key="pool_grid")
    a, b = st.columns(2)
    st.session_state["grid_rows"], st.session_state["grid_cols"] = g.shape
    a.number_input("Rows", 1, MAX_GRID, key="grid_rows", on_change=_grid_resized, args=(g,))
    b.number_input("Columns", 1, MAX_GRID, key="grid_cols", on_change=_grid_resized, args=(g,))
    return g


def controls() -> dict:
    k = hideable(
        "k",
        "pool size",
        lambda: st.slider(
            "Pool size", 1, 6, 2, key="k", bind="query-params", help="the window's side"
        ),
    )
    s = hideable(
        "s",
        "stride",
        lambda: st.slider(
            "Stride",
            1,
            6,
            2,
            key="s",
            bind="query-params",
            help="how far the window moves; PyTorch's default is the pool size",
        ),
    )
    p = hideable(
        "p",
        "padding",
        lambda: st.slider(
            "Padding",
            0,
            3,
            0,
            key="p",
            bind="query-params",
            help="at most half the pool size (PyTorch's rule)",
        ),
    )
    ceil = hideable(
        "ceil",
        "ceil_mode",
        lambda: st.toggle(CEIL_LABEL, False, key="ceil", bind="query-params", help=CEIL_HELP),
    )
    return dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)


apply_fix = fix_setter(KEYS)


def grid_section(g: np.ndarray, c: dict) -> None:
    st.subheader("On a small grid")
    size = cnnviz.output_size(
        g.shape, c["kernel_size"], c["stride"], c["padding"], op="pool", ceil_mode=c["ceil_mode"]
    )
    x = g[None]
    k = c["kernel_size"]
    window = f"window {k}×{k}"

    def out(a: np.ndarray) -> str:
        return f"output {a.shape[1]}×{a.shape[2]}"

    mx, win = cnnviz.max_pool2d(x, **c, return_indices=True)
    avg = cnnviz.avg_pool2d(x, **c)
    gap = cnnviz.global_avg_pool2d(x)
    # fixed-width boxes in a wrapping row: on a narrow screen (150 % zoom, a projector) a grid
    # moves to the next line instead of being cut
    row = st.container(horizontal=True, gap="small")
    cols = [row.container(width=w) for w in (230, 165, 165, 150)]
    with cols[0]:
        show_grid(
            pool_input_figure(
                g,
                c["kernel_size"],
                c["stride"],
                c["padding"],
                size.size,
                win[0],
                "Input · max winners ringed",
            ),
            key="pool_in",
        )
    with cols[1]:
        show_grid(pool_output_figure(mx[0], f"Max pool<br>{window} → {out(mx)}"), key="pool_max")
    with cols[2]:
        show_grid(
            pool_output_figure(avg[0], f"Average pool<br>{window} → {out(avg)}"), key="pool_avg"
        )
    with cols[3]:
        show_grid(
            pool_output_figure(gap[0], "Global average<br>whole grid → 1×1", colored=False),
            key="pool_gap",
        )
    overhang = ""
    if (
        size.size
        != cnnviz.output_size(g.shape, c["kernel_size"], c["stride"], c["padding"], op="pool").size
    ):
        overhang = (
            f" “{OVERHANG_MARK}”: past the end of the input and its padding, where "
            "ceil_mode's last window hangs over and finds nothing."
        )
    st.caption(
        "Each window has its colour; the output cell of that window has the same colour. "
        "Max keeps the largest number of each window (ringed); average adds the numbers "
        f"a window covers and {avg_pool_divisor_text(size)}; global average takes the "
        "mean of everything: one number per channel." + overhang
    )
    show_formulas(size, "Pooling")


def image_section(image: np.ndarray, c: dict) -> None:
    st.subheader("On your image: pooling keeps the channels")
    x = np.ascontiguousarray(image.transpose(2, 0, 1))
    size = cnnviz.output_size(
        x.shape[1:],
        c["kernel_size"],
        c["stride"],
        c["padding"],
        op="pool",
        ceil_mode=c["ceil_mode"],
    )
    mx = cnnviz.max_pool2d(x, **c)
    avg = cnnviz.avg_pool2d(x, **c)
    gap = cnnviz.global_avg_pool2d(x)[:, 0, 0]
    ch, h, w = x.shape
    cols = st.columns(4)
    k = c["kernel_size"]
    shown = [
        (f"Input {h} × {w} × {ch}", x),
        (f"Max pool, window {k} × {k} → {mx.shape[1]} × {mx.shape[2]} × {ch}", mx),
        (f"Average pool, window {k} × {k} → {avg.shape[1]} × {avg.shape[2]} × {ch}", avg),
    ]
    for col, (title, a) in zip(cols, shown):
        with col:
            st.markdown(f"**{title}**")
            rgb = upscale(to_uint8(a.transpose(1, 2, 0)), 256)  # small results stay crisp
            st.image(picture_bytes(rgb), width="stretch", alt=f"{title}, colours 0 to 1")
    with cols[3]:
        st.markdown(f"**Global average: whole image → 1 × 1 × {ch}**")
        swatch = np.ones((64, 64, 3), np.float32) * gap[None, None, :]
        st.image(
            picture_bytes(to_uint8(swatch)),
            width=96,
            alt="One colour: R {:.3f}, G {:.3f}, B {:.3f}".format(*gap),
        )
        st.caption("R {:.3f} · G {:.3f} · B {:.3f}".format(*gap))
    st.info(
        f"{ch} channels in, {ch} channels out: pooling works on each channel by itself and "
        f"changes only height and width ({h} × {w} → {size.size[0]} × {size.size[1]}).",
        icon=":material/layers:",
    )


def page() -> None:
    st.title("Pooling")
    st.write(
        "Pooling slides a window like a convolution but has no weights: it keeps the "
        "largest number (max) or the mean (average) of each window."
    )
    top = st.container(horizontal=True, horizontal_alignment="right")
    quiz = quiz_ui.quiz_mode()
    with settings_box():  # the sidebar; one expander in presentation mode
        c = controls()
        with st.container(border=True):
            st.markdown("**The small grid**")
            g = grid_input()
        with st.container(border=True):
            image, _ = pick_image(default_size=128)
    show_refusal()
    try:
        if not quiz or quiz_ui.pool_card(g, c):
            grid_section(g, c)
        else:
            st.caption("Answer first: the pooled grid, with every winner ringed, appears after.")
    except SettingError as err:
        refuse(err, "Pooling on the grid", KEYS, apply_fix)
    try:
        image_section(image.array, c)
    except SettingError as err:
        refuse(err, "Pooling on the image", {}, apply_fix)
    if (code := code_expander("The same layers in PyTorch", "code_open")) is not None:
        from cnnviz.codegen import layer_code

        args = (c["kernel_size"], c["stride"], c["padding"], 1)
        code.code(
            "from torch import nn\n\n"
            f"max_pool = {layer_code('pool', *args, ceil_mode=c['ceil_mode'])}\n"
            f"avg_pool = {layer_code('pool', *args, ceil_mode=c['ceil_mode'], pool='avg')}\n"
            "global_avg = nn.AdaptiveAvgPool2d(1)",
            language="python",
        )
    show_source(cnnviz.max_pool2d, cnnviz.avg_pool2d)
    see_also("pages/step_by_step.py", "pages/activations.py", "pages/train.py")
    with top:
        share_link()


run_safely(page, url_labels={"src": SOURCES.get})
