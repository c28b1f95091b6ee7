"""The Convolution page's pictures of maps: one map with its colour bar, the input with its
padding, and the slide-ready downloads. Maps travel as palette PNGs (`cnnviz.render.png`)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import playground
from cnnviz.names import file_stem
from cnnviz.render.colormaps import Range, cmap_for, range_caption, value_range
from cnnviz.render.padded import picture as padded_picture
from cnnviz.render.png import colorbar_png, map_png, picture_bytes
from cnnviz.render.slides import maps_slide_png
from cnnviz.ui.fragments import shared

PREVIEW = 256  # side of small multiples and partial maps on screen


def legend(rng: Range, view: dict) -> None:
    """The colour bar with its range written under it (one element, not two)."""
    st.image(
        colorbar_png(cmap_for(rng, view)),
        caption=range_caption(rng),
        width="stretch",
        alt=f"Colour scale: {range_caption(rng)}",
    )


def show_map(a: np.ndarray, title: str, view: dict, rng: Range | None = None) -> Range:
    def make():
        r = rng or value_range(a)
        return map_png(a, cmap_for(r, view), r, min_side=PREVIEW)

    png, rng = shared("show_map", make, a, rng, view["div"], view["seq"], PREVIEW)
    st.markdown(f"**{title}**  \n{a.shape[0]} × {a.shape[1]}")
    st.image(
        png,
        width="stretch",
        alt=f"{title}: a {a.shape[0]} × {a.shape[1]} map, {range_caption(rng)}",
    )
    legend(rng, view)
    return rng


def show_input(x: np.ndarray, r: playground.Result | None, box, view: dict) -> None:
    padded, pads = (r.padded, r.pads) if r is not None else (x, (0, 0, 0, 0))
    pt, pb, pl, pr = pads
    title = "Input" + (" with its padding (orange)" if any(pads) else "")
    st.markdown(
        f"**{title}**  \n{x.shape[1]} × {x.shape[2]}"
        + (f", padded to {padded.shape[1]} × {padded.shape[2]}" if any(pads) else "")
    )
    jpeg = shared(
        "input",
        lambda: picture_bytes(padded_picture(padded, pads, box, min_side=PREVIEW)),
        padded,
        pads,
        box,
        PREVIEW,
    )
    st.image(
        jpeg,
        width="stretch",
        alt=f"{title}: {x.shape[1]} × {x.shape[2]} × {x.shape[0]} picture"
        + (", the blue frame marks the chosen window" if box is not None else ""),
    )
    if box is not None:
        st.caption("Blue frame: the window of the chosen output pixel.")


def downloads(r: playground.Result, s: playground.Settings, view: dict, name: str) -> None:
    """Slide-ready PNGs (>= 1280 px wide): a title, the maps on one colour range, its bar."""

    def maps_png(maps: np.ndarray, what: str):
        n, h, w = maps.shape
        return lambda: maps_slide_png(maps, f"{name}: {what}, {n} × {h} × {w}", view)

    stem = file_stem(name, 40, "_", "image")
    a, b = st.columns(2)
    a.download_button(
        "Feature maps (PNG)",
        maps_png(r.feature, "feature maps"),
        f"{stem}_feature_maps.png",
        "image/png",
        key="dl_feature",
        icon=":material/download:",
        on_click="ignore",
    )
    if r.pooled is not None:
        b.download_button(
            "Pooled maps (PNG)",
            maps_png(r.pooled, f"after {s.pool} pooling"),
            f"{stem}_pooled_maps.png",
            "image/png",
            key="dl_pooled",
            icon=":material/download:",
            on_click="ignore",
        )
