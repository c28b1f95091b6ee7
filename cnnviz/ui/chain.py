"""The Convolution page's chain of maps: input | feature map (clickable) | activated | pooled,
each beside the last, the small multiples when there are several maps, and the partial maps
of one filter's slices. A click on the feature map reruns only this fragment."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from cnnviz import playground
from cnnviz.render.colormaps import Range, cmap_for, range_caption, value_range
from cnnviz.render.png import array_to_png, map_grid, map_png, marked_map_png, shrink
from cnnviz.trace import trace
from cnnviz.ui.fragments import fragment, shared
from cnnviz.ui.map_view import PREVIEW, legend, show_input, show_map
from cnnviz.ui.pixel import chosen_cell, pick_by_number, show_cell


class EncodedPng:
    """PNG bytes already made, for streamlit_image_coordinates (it asks for `.save()`)."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, buf, format: str = "PNG", **_) -> None:
        buf.write(self.data)


def show_chain(r: playground.Result, s: playground.Settings, view: dict):
    """Input | feature map (clickable) | activated | pooled, each beside the last."""
    n = r.feature.shape[0]
    o = 0
    labels = _labels(r, s, view)
    if n > 1:
        st.markdown(f"#### {n} maps: the output has **depth {n}**")
        grid, rng = shared(
            "grid",
            lambda: _grid([shrink(m) for m in r.feature], view),
            r.feature,
            view["div"],
            view["seq"],
        )
        st.image(grid, width="stretch", alt=f"{n} feature maps side by side, {range_caption(rng)}")
        st.caption(
            f"All {n} feature maps, one colour range ({range_caption(rng)}). "
            + _map_names(s, labels)
        )
        o = st.number_input("Map to look at", 1, n, 1, key="map", bind="query-params") - 1
    if o >= n:
        o = 0
    cell = chosen_cell(r.feature.shape, o)
    t = trace(
        r.input,
        r.weight,
        r.bias,
        s.stride,
        s.padding,
        s.dilation,
        r.groups,
        s.padding_mode,
        out_channel=o,
        row=cell[1],
        col=cell[2],
    )
    panels = 2 + (s.activation != "none") + (r.pooled is not None)
    cols = st.columns(panels, gap="small")
    with cols[1]:
        png, rng = shared(
            "clickable",
            lambda: marked_map_png(r.feature[o], view, cell[1:], min_side=PREVIEW),
            r.feature[o],
            view["div"],
            view["seq"],
            PREVIEW,
            cell[1],
            cell[2],
        )
        st.markdown(
            f"**Feature map{f' {o + 1}: {labels[o]}' if n > 1 else ''}**  \n"
            f"{r.feature.shape[1]} × {r.feature.shape[2]} · click a pixel"
        )
        streamlit_image_coordinates(
            EncodedPng(png), key="map_click", width="stretch", cursor="crosshair"
        )
        st.caption(f"Ringed: the pixel explained below (row {cell[1]}, column {cell[2]}).")
        pick_by_number(r.feature.shape, cell)
        legend(rng, view)
    with cols[0]:
        show_input(r.input, r, t.box, view)
    i = 2
    if s.activation != "none":
        with cols[i]:
            show_map(r.activated[o], f"After {s.activation.replace('_', ' ')}", view)
        i += 1
    if r.pooled is not None:
        with cols[i]:
            show_map(r.pooled[o], f"After {s.pool} pooling", view)
    if r.partials is not None:
        _show_partials(r, o, view)
    return cell, t


@fragment
def explore(r: playground.Result, s: playground.Settings, view: dict) -> None:
    """The maps side by side and one pixel's arithmetic: a click on the feature map (or another
    map number) reruns only this part of the page."""
    show_cell(r, s, show_chain(r, s, view))


def _labels(r: playground.Result, s: playground.Settings, view: dict) -> list[str]:
    names = ["your kernel"] + [e.replace("_", " ") for e in view.get("extra", [])]
    return playground.map_labels(s, r.input.shape[0], names)


def _map_names(s: playground.Settings, labels: list[str]) -> str:
    n = len(labels)
    if s.channels == "depthwise":
        return (
            "Depthwise: colour by colour, as PyTorch orders them: "
            + "; ".join(f"{i + 1} = {t}" for i, t in enumerate(labels))
            + "."
        )
    return f"Map 1 is your kernel; maps 2 to {n} are the extra filters you chose." if n > 1 else ""


def _grid(maps: list[np.ndarray], view: dict) -> tuple[bytes, Range]:
    sheet, rng = map_grid(np.stack(maps), min(len(maps), 6), view, gap=4)
    return array_to_png(sheet), rng


def _show_partials(r: playground.Result, o: int, view: dict) -> None:
    st.markdown("#### One filter, three slices: partial maps, then their sum")
    parts = r.partials[o]
    rng = value_range(np.concatenate([parts.ravel(), r.feature[o].ravel()]))
    cols = st.columns(4, gap="small")
    cmap = cmap_for(rng, view)

    def small(a: np.ndarray) -> bytes:
        return shared(
            "partial", lambda: map_png(shrink(a), cmap, rng, min_side=128)[0], a, cmap, rng
        )

    for c, ch, part in zip(cols, playground.CHANNEL_NAMES, parts):
        with c:
            st.image(
                small(part),
                caption=f"{ch} slice on the {ch} channel",
                width="stretch",
                alt=f"Partial map of the {ch} slice, {part.shape[0]} × {part.shape[1]}, "
                f"{range_caption(rng)}",
            )
    with cols[3]:
        st.image(
            small(r.feature[o]),
            caption=f"R + G + B + bias {r.bias[o]:g} = the map",
            width="stretch",
            alt=f"The summed feature map, {r.feature.shape[1]} × "
            f"{r.feature.shape[2]}, {range_caption(rng)}",
        )
    st.caption(
        f"Same colour range for all four ({range_caption(rng)}). One filter spans all "
        "input channels and yields ONE output channel."
    )
