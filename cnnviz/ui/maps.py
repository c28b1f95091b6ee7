"""The convolution page's pictures: input with its padding, feature / activated / pooled maps,
the clicked pixel's arithmetic, the comparison, downloads. Maps travel as palette PNGs.

Results and encoded pictures come from `cnnviz.memo.SHARED`, keyed by the exact content they are
made from (the picture's every byte and every setting): a class asking the same question computes
it once. The pixel explorer and the comparison are fragments: a click on the map or a change of
B's settings reruns only them.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import threading
import time
from dataclasses import replace

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from cnnviz import memo, playground
from cnnviz.colors import Range, colorbar, colorize, map_image, map_png, tile, value_range
from cnnviz.images import array_to_png
from cnnviz.shapes import SettingError
from cnnviz.trace import trace
from cnnviz.ui.common import COUNT_FROM_0, TIMING, range_caption

PREVIEW = 256  # side of small multiples and partial maps on screen
CHANNEL_NAMES = ("R", "G", "B")
log = logging.getLogger("cnnviz")


def run(image: np.ndarray, s: playground.Settings) -> playground.Result:
    """playground.run, shared by every user who asks with the same picture and settings."""
    return memo.SHARED.get(
        memo.digest("playground.run", image, s), lambda: playground.run(image, s)
    )


def _shared(what: str, compute, *parts):
    """A picture (or anything) made from exactly these inputs, computed once server-wide."""
    return memo.SHARED.get(memo.digest(what, *parts), compute)


_depth = threading.local()  # fragments inside fragments: only the outermost is timed


def _fragment_run() -> bool:
    """Is this script run a fragment's own rerun (not the whole page)?"""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def fragment(fn):
    """st.fragment with its own error box: a fragment's own reruns run outside run_safely."""

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        started = time.perf_counter()
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            out = fn(*args, **kwargs)
            if TIMING and _depth.n == 1 and _fragment_run():  # full runs: run_safely times them
                where = os.path.basename(fn.__code__.co_filename)
                log.warning("timing %s %.1f ms", where, (time.perf_counter() - started) * 1e3)
            return out
        except Exception:  # noqa: BLE001 - a classroom server shows a sentence, not a traceback
            log.exception("fragment %s failed", fn.__name__)
            st.error(
                "Something went wrong while drawing this part. Your settings are kept: "
                "change one and try again, or reload the page.",
                icon=":material/warning:",
            )
        finally:
            _depth.n -= 1

    return st.fragment(guarded)


class EncodedPng:
    """PNG bytes already made, for streamlit_image_coordinates (it asks for `.save()`)."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, buf, format: str = "PNG", **_) -> None:
        buf.write(self.data)


def cmap_for(rng: Range, view: dict) -> str:
    return view["div"] if rng.signed else view["seq"]


def shrink(a: np.ndarray, side: int = PREVIEW) -> np.ndarray:
    """Block-average a big (H, W) map down to about `side` for a thumbnail."""
    f = max(1, max(a.shape) // side)
    if f == 1:
        return a
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    return a[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def picture_bytes(rgb: np.ndarray) -> bytes:
    """Photos as JPEG (a tenth of a PNG), small or flat pictures as PNG."""
    if rgb.shape[0] * rgb.shape[1] <= 128 * 128:
        return array_to_png(rgb)
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=88)
    return buf.getvalue()


@functools.lru_cache(maxsize=16)
def _colorbar_png(cmap: str) -> bytes:
    return array_to_png(colorbar(cmap, 256, 10))


def legend(rng: Range, view: dict) -> None:
    """The colour bar with its range written under it (one element, not two)."""
    st.image(
        _colorbar_png(cmap_for(rng, view)),
        caption=range_caption(rng),
        width="stretch",
        alt=f"Colour scale: {range_caption(rng)}",
    )


def show_map(a: np.ndarray, title: str, view: dict, rng: Range | None = None) -> Range:
    def make():
        r = rng or value_range(a)
        return map_png(a, cmap_for(r, view), r, min_side=PREVIEW)

    png, rng = _shared("show_map", make, a, rng, view["div"], view["seq"], PREVIEW)
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
    jpeg = _shared(
        "input",
        lambda: picture_bytes(playground.picture(padded, pads, box, min_side=PREVIEW)),
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


def _cell_from_url(shape) -> tuple[int, int, int] | None:
    try:
        o, r, c = (int(v) for v in st.query_params.get("cell", "").split("-"))
    except ValueError:
        return None
    return (o, r, c) if 0 <= o < shape[0] and 0 <= r < shape[1] and 0 <= c < shape[2] else None


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
    cell = _cell_from_url(shape)
    if cell is not None and cell[0] == o:
        return cell
    return (o, shape[1] // 2, shape[2] // 2)


RING = (254, 255)  # palette entries for the ring around the chosen cell: black, white


def mark_cell(im, shape: tuple[int, int], row: int, col: int) -> None:
    """Ring one cell of a palette map image (enlarged from an (H, W) map) in black and white,
    so it shows on every colour map; a ring, not a fill, so the cell's own colour stays."""
    from PIL import ImageDraw

    pal = (im.getpalette() or []) + [0] * 768
    pal = pal[:768]
    pal[3 * RING[0] : 3 * RING[0] + 3] = [0, 0, 0]
    pal[3 * RING[1] : 3 * RING[1] + 3] = [255, 255, 255]
    im.putpalette(pal)
    fy, fx = im.height / shape[0], im.width / shape[1]
    x0, y0, x1, y1 = col * fx, row * fy, (col + 1) * fx - 1, (row + 1) * fy - 1
    gap = max(2, round(min(im.size) / 80))  # the ring stands clear of a 1-pixel cell
    draw = ImageDraw.Draw(im)
    draw.rectangle(
        [x0 - gap - 2, y0 - gap - 2, x1 + gap + 2, y1 + gap + 2], outline=RING[0], width=2
    )
    draw.rectangle([x0 - gap, y0 - gap, x1 + gap, y1 + gap], outline=RING[1], width=1)


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


def show_chain(r: playground.Result, s: playground.Settings, view: dict):
    """Input | feature map (clickable) | activated | pooled, each beside the last."""
    n = r.feature.shape[0]
    o = 0
    labels = _labels(r, s, view)
    if n > 1:
        st.markdown(f"#### {n} maps: the output has **depth {n}**")
        grid, rng = _shared(
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
        png, rng = _shared(
            "clickable",
            lambda: _clickable(r.feature[o], view, cell[1:]),
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


def _clickable(a: np.ndarray, view: dict, cell: tuple[int, int]) -> tuple[bytes, Range]:
    """The feature map as a fast-to-make PNG (compression level 1) for the clickable image, the
    explained pixel ringed."""
    rng = value_range(a)
    im, _ = map_image(a, cmap_for(rng, view), rng, min_side=PREVIEW)
    mark_cell(im, a.shape, cell[0], cell[1])
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), rng


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
    rng = value_range(np.stack(maps))
    cols = min(len(maps), 6)
    big = [colorize(m, cmap_for(rng, view), rng) for m in maps]
    return array_to_png(tile(big, cols, gap=4)), rng


def _show_partials(r: playground.Result, o: int, view: dict) -> None:
    st.markdown("#### One filter, three slices: partial maps, then their sum")
    parts = r.partials[o]
    rng = value_range(np.concatenate([parts.ravel(), r.feature[o].ravel()]))
    cols = st.columns(4, gap="small")
    cmap = cmap_for(rng, view)

    def small(a: np.ndarray) -> bytes:
        return _shared(
            "partial", lambda: map_png(shrink(a), cmap, rng, min_side=128)[0], a, cmap, rng
        )

    for c, ch, part in zip(cols, CHANNEL_NAMES, parts):
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


def exact(v) -> str:
    """The shortest text that is exactly this float32: what the page promises is right."""
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


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
        name = CHANNEL_NAMES[ch.in_channel] if r.input.shape[0] == 3 else "brightness"
        win, ker, prod = (_matrix(m, short) for m in (ch.window, ch.weights, ch.products))
        lines.append(f"channel {name}: window × kernel slice = products")
        for a, b, c in zip(win, ker, prod):
            lines.append(f"  {a}   ×   {b}   =   {c}")
        lines.append(f"  sum of the products = {exact(ch.sum)}")
        lines.append("")
    left, right = st.columns([1, 3], gap="medium")
    with left:
        close = _shared(
            "zoom",
            lambda: picture_bytes(playground.zoom(r.padded, r.pads, t.box)),
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
    right.code("\n".join(lines), language=None)
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


def compare_controls() -> dict:
    a, b, c, d = st.columns(4)
    return {
        "stride": a.selectbox(
            "B: stride", ("same", 1, 2, 3, 4), index=2, key="b_s", bind="query-params"
        ),
        "padding": b.selectbox("B: padding", ("same", 0, 1, 2, 3), key="b_p", bind="query-params"),
        "padding_mode": c.selectbox(
            "B: padding mode",
            ("same", "zeros", "reflect", "replicate", "circular"),
            key="b_pm",
            bind="query-params",
        ),
        "pool": d.selectbox(
            "B: pooling", ("same", "none", "max", "avg"), key="b_pool", bind="query-params"
        ),
    }


@fragment
def show_compare(image: np.ndarray, s: playground.Settings, r: playground.Result, view) -> None:
    """A second set of settings (B) beside the user's; its controls rerun only this part."""
    if not st.toggle("Compare with other settings (B)", False, key="cmp", bind="query-params"):
        return
    with st.container(border=True):
        b = compare_controls()
        changes = {k: v for k, v in b.items() if v != "same"}
        for k in ("stride", "padding"):
            if k in changes:
                changes[k] = (changes[k], changes[k])
        sb = replace(s, **changes)
        try:
            rb = run(image, sb)
        except SettingError as err:
            st.error(f"**B cannot work.** {err}", icon=":material/block:")
            return
        cols = st.columns(2)
        finals = [res.pooled if res.pooled is not None else res.activated for res in (r, rb)]
        rng = shared_range(finals[0][0], finals[1][0])
        for col, label, res, st_, final in zip(
            cols, ("A (your settings)", "B"), (r, rb), (s, sb), finals
        ):
            with col:
                o, ho, wo = res.feature.shape
                text = f"conv {ho} × {wo}"
                if res.pooled is not None:
                    text += f" → pool {final.shape[1]} × {final.shape[2]}"
                show_map(final[0], f"{label}: {text}", view, rng)
                st.caption(
                    f"stride {st_.stride}, padding {st_.padding}, {st_.padding_mode}, "
                    f"pooling {st_.pool}"
                )
        st.caption("A and B share one colour scale: the same colour is the same number in both.")


def shared_range(*maps: np.ndarray) -> Range:
    """One colour range for several maps, so equal colours mean equal numbers."""
    return value_range(np.concatenate([np.ravel(m) for m in maps]))


def downloads(r: playground.Result, s: playground.Settings, view: dict, name: str) -> None:
    """Slide-ready PNGs (>= 1280 px wide): a title, the maps on one colour range, its bar."""
    from cnnviz import slides

    def maps_png(maps: np.ndarray, what: str):
        def make() -> bytes:
            rng = value_range(maps)
            sheet = tile(
                [colorize(m, cmap_for(rng, view), rng) for m in maps], cols=min(len(maps), 4), gap=4
            )
            n, h, w = maps.shape
            title = f"{name}: {what}, {n} × {h} × {w}"
            return slides.png_bytes(slides.maps_slide(sheet, title, cmap_for(rng, view), rng))

        return make

    from cnnviz.names import file_stem

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
