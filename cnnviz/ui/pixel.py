"""The clicked pixel: which output cell to explain (a click, the link, or typed numbers) and its
arithmetic, window × kernel slice = products, summed, plus the bias."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import playground
from cnnviz.numbers import exact
from cnnviz.render.padded import zoom
from cnnviz.render.png import picture_bytes
from cnnviz.ui.common import COUNT_FROM_0, show_lines
from cnnviz.ui.fragments import shared
from cnnviz.ui.params import index_in


def chosen_cell(shape: tuple[int, int, int], o: int) -> tuple[int, int, int]:
    """The output cell to explain: the last click, else the link's, else the centre."""
    click = st.session_state.get("map_click")
    if click and click.get("unix_time") != st.session_state.get("map_click_seen"):
        st.session_state["map_click_seen"] = click.get("unix_time")
        r = int(click["y"] / max(1, click["height"]) * shape[1])
        c = int(click["x"] / max(1, click["width"]) * shape[2])
        cell = (o, min(max(r, 0), shape[1] - 1), min(max(c, 0), shape[2] - 1))
        st.query_params["cell"] = "-".join(map(str, cell))
        return cell
    cell = index_in(st.query_params.get("cell"), shape)
    if cell is not None and cell[0] == o:
        return cell
    return (o, shape[1] // 2, shape[2] // 2)


def _cell_typed(o: int) -> None:
    """Callback: the row and column typed (keyboard) become the chosen cell, as a click would."""
    st.query_params["cell"] = f"{o}-{st.session_state['cell_row']}-{st.session_state['cell_col']}"


def pick_by_number(shape: tuple[int, int, int], cell: tuple[int, int, int]) -> None:
    """The chosen pixel's row and column as numbers: the map can be explored from the keyboard
    (the picture itself takes clicks only)."""
    o, row, col = cell
    st.session_state["cell_row"], st.session_state["cell_col"] = row, col
    a, b = st.columns(2)
    a.number_input("Row", 0, shape[1] - 1, key="cell_row", on_change=_cell_typed, args=(o,))
    b.number_input("Column", 0, shape[2] - 1, key="cell_col", on_change=_cell_typed, args=(o,))


def _matrix(a: np.ndarray, fmt) -> list[str]:
    cells = [[fmt(v) for v in row] for row in a]
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def show_cell(r: playground.Result, s: playground.Settings, chosen) -> None:
    (o, row, col), t = chosen
    st.markdown(f"#### The arithmetic of one pixel: map {o + 1}, row {row}, column {col}")
    st.caption(COUNT_FROM_0)
    short = lambda v: f"{float(v):.4g}"  # noqa: E731
    lines = []
    for ch in t.channels:
        name = playground.CHANNEL_NAMES[ch.in_channel] if r.input.shape[0] == 3 else "brightness"
        win, ker, prod = (_matrix(m, short) for m in (ch.window, ch.weights, ch.products))
        lines.append(f"channel {name}: window × kernel slice = products")
        for a, b, c in zip(win, ker, prod):
            lines.append(f"  {a}   ×   {b}   =   {c}")
        lines.append(f"  sum of the products = {exact(ch.sum)}")
        lines.append("")
    left, right = st.columns([1, 3], gap="medium")
    with left:
        close = shared(
            "zoom",
            lambda: picture_bytes(zoom(r.padded, r.pads, t.box)),
            r.padded,
            r.pads,
            t.box,
        )
        st.image(
            close, width="stretch", caption="The window, up close (blue frame; orange = padding)"
        )
    sums = " + ".join(exact(ch.sum) for ch in t.channels)
    total = f"{sums} + bias {exact(t.bias)} = {exact(t.total)}"
    lines.append(("channels added: " if len(t.channels) > 1 else "") + total)
    show_lines("\n".join(lines), right)
    value = r.feature[o, row, col]
    after = ""
    if s.activation != "none":
        after = f" After {s.activation.replace('_', ' ')}: **{exact(r.activated[o, row, col])}**."
    right.markdown(
        f"Total **{exact(t.total)}**: the feature map holds "
        f"**<span data-testid='cell-value'>{exact(value)}</span>** there." + after,
        unsafe_allow_html=True,
    )
    if t.is_padding.any():
        right.caption(
            f"{int(t.is_padding.sum())} of the window's cells are padding ({s.padding_mode})."
        )
