"""The Explore page's overview: every layer a column of channel thumbnails, input to output.
A click on a thumbnail (or the Layer and Channel numbers) opens that channel: how it is made
(cnnviz.ui.explore.channel); a click on one of its cells (or Row and Column) outlines what that
unit sees, on the input and on every layer (cnnviz.unit_field). The chosen unit is kept in the
address (`unit=layer-channel-row-column`), so a shared link opens it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from cnnviz.render.overview import overview_png
from cnnviz.render.png import marked_map_png
from cnnviz.ui import links
from cnnviz.ui.chain import EncodedPng
from cnnviz.ui.common import remember
from cnnviz.ui.explore.model import Explored
from cnnviz.ui.fragments import fragment
from cnnviz.ui.params import index_in, sync_url

LAYER, CHANNEL, ROW, COL = "layer", "ch", "row", "col"  # widget keys (and URL names)
CLICK, UNIT_CLICK = "overview_click", "unit_click"
FIELDS, FIELDS_KEPT = "_explore_fields", 64  # session_state: unit_field's boxes per unit
# URL: the chosen unit as layer-channel-row-column (layer = the overview's column number),
# written when it is not the default (the first layer's channel 0, its centre)
UNIT = "unit"
_LINK_READ = "_explore_unit_link_read"  # session_state: the link's unit was looked at


@dataclass
class Net:
    """What the net made of one input: columns (title, values) from the input on, and the
    named_modules() name of each layer column (None for the input)."""

    columns: list[tuple[str, np.ndarray]]
    names: list[str | None]


def look(m: Explored, x: np.ndarray) -> Net:
    """Every layer's output for x, with the module names the engine functions take."""
    from cnnviz.arch import rows_of
    from cnnviz.probe import capture

    acts = capture(m.model, x)
    by_id = {id(mod): name for name, mod in m.model.named_modules()}
    names = [by_id.get(id(mod)) for mod in rows_of(m.model)]
    if len(names) != len(acts):  # a module called twice: names cannot be matched by position
        names = [None] * len(acts)
    columns = [("input", np.asarray(x, np.float32))]
    columns += [(f"{a.index + 1}. {a.name}", a.values) for a in acts]
    return Net(columns, [None, *names])


def _shape(values: np.ndarray) -> str:
    return " × ".join(str(s) for s in values.shape)


def _take_clicks(net: Net, last) -> None:
    """A click on the overview (or on the map) since the last run becomes the widgets' values,
    before they are drawn."""
    click = st.session_state.get(CLICK)
    if click and click.get("unix_time") != st.session_state.get("_overview_seen") and last:
        st.session_state["_overview_seen"] = click.get("unix_time")
        ov = last
        sx, sy = ov.width / max(1, click["width"]), ov.height / max(1, click["height"])
        hit = ov.hit(click["x"] * sx, click["y"] * sy)
        if hit is not None and hit[0] > 0 and np.ndim(net.columns[hit[0]][1]) == 3:
            st.session_state[LAYER], st.session_state[CHANNEL] = hit[0], hit[1]
    click = st.session_state.get(UNIT_CLICK)
    if click and click.get("unix_time") != st.session_state.get("_unit_seen"):
        st.session_state["_unit_seen"] = click.get("unix_time")
        shape = st.session_state.get("_unit_shape")
        if shape:
            r = int(click["y"] / max(1, click["height"]) * shape[0])
            c = int(click["x"] / max(1, click["width"]) * shape[1])
            st.session_state[ROW] = min(max(r, 0), shape[0] - 1)
            st.session_state[COL] = min(max(c, 0), shape[1] - 1)


def _unit_from_link(net: Net, maps: list[int]) -> None:
    """The session's first run of the overview: the link's unit (if any) becomes the choice.
    One this net and picture do not have gets a note and leaves the address."""
    if st.session_state.get(_LINK_READ):
        return
    st.session_state[_LINK_READ] = True
    raw = st.query_params.get(UNIT)
    if raw is None:
        return
    head, _, rest = raw.partition("-")
    layer = index_in(head, (max(maps) + 1,))
    place = index_in(rest, net.columns[layer[0]][1].shape) if layer and layer[0] in maps else None
    if place is not None:
        st.session_state.update(dict(zip((LAYER, CHANNEL, ROW, COL), (*layer, *place))))
        return
    del st.query_params[UNIT]
    links.note(
        f"The link's {links.shown(UNIT, raw)} could not be used: this net has no such unit "
        "(layer-channel-row-column, the layer numbered as in the overview), so the first "
        "layer's centre is shown."
    )


def _clamp(key: str, hi: int, default: int) -> int:
    v = st.session_state.get(key, default)
    v = default if not isinstance(v, (int, np.integer)) else int(v)
    st.session_state[key] = min(max(v, 0), hi)
    return st.session_state[key]


@fragment  # a click on a channel or a unit reruns only this part
def show_overview(m: Explored, x: np.ndarray) -> None:
    """The overview picture, the chosen channel's detail and the chosen unit's field."""
    net = look(m, x)
    maps = [i for i, (_, v) in enumerate(net.columns) if i > 0 and np.ndim(v) == 3]
    if not maps:
        st.caption("This net has no layer with maps to look at.")
        return
    _unit_from_link(net, maps)
    _take_clicks(net, st.session_state.get("_overview"))
    layer = st.session_state.get(LAYER)
    if layer not in maps:
        st.session_state[LAYER] = maps[0]
    layer = st.session_state[LAYER]
    values = net.columns[layer][1]
    channel = _clamp(CHANNEL, values.shape[0] - 1, 0)
    row = _clamp(ROW, values.shape[1] - 1, values.shape[1] // 2)
    col = _clamp(COL, values.shape[2] - 1, values.shape[2] // 2)
    chosen = (layer, channel, row, col)
    default = (maps[0], 0, values.shape[1] // 2, values.shape[2] // 2)
    sync_url(UNIT, None if chosen == default else "-".join(map(str, chosen)))
    fields = unit_boxes(m, net, layer, row, col)
    ov = overview_png(
        net.columns, {c: box for c, (box, _) in fields.items()}, focus=(layer, channel)
    )
    st.session_state["_overview"] = ov
    st.caption(
        "Every layer a column, every channel a thumbnail (one colour range per layer), input "
        "to output, the shape under each column. **Click a channel** to see how it is made."
    )
    streamlit_image_coordinates(EncodedPng(ov.png), key=CLICK, width="content", cursor="pointer")
    a, b = st.columns(2)
    a.selectbox(
        "Layer",
        maps,
        key=LAYER,
        format_func=lambda i: f"{net.columns[i][0]} · {_shape(net.columns[i][1])}",
    )
    b.number_input(f"Channel (0–{values.shape[0] - 1})", 0, values.shape[0] - 1, key=CHANNEL)
    _unit(net, layer, channel, row, col, fields)
    from cnnviz.ui.explore.channel import show_channel

    show_channel(m, x, net, layer, channel)


def unit_boxes(m: Explored, net: Net, layer: int, row: int, col: int) -> dict:
    """column -> ((top, left, bottom, right) exclusive, FieldBox) of the unit's receptive
    field; {} when the engine cannot trace it (a sentence is shown then)."""
    from cnnviz.unit_field import unit_field

    name = net.names[layer]
    if name is None:
        return {}
    # the boxes follow the net's layers, not the input or the weights: a new drawing reuses
    # them (tracing the graph was the slowest step before the overview); the model's text
    # (every layer and its settings) tells one net from another
    seen = st.session_state.setdefault(FIELDS, {})
    key = (m.key, hash(repr(m.model)), m.input_shape, name, row, col)
    if key not in seen:
        try:
            boxes = unit_field(m.model, m.input_shape, name, row, col)
        except ValueError as err:
            boxes = str(err)
        remember(seen, key, boxes, FIELDS_KEPT)
    boxes = seen[key]
    if isinstance(boxes, str):
        st.caption(boxes)
        return {}
    column = {n: i for i, n in enumerate(net.names) if n is not None}
    out = {}
    for b in boxes:
        c = 0 if b.layer in (None, "", "input") else column.get(b.layer)
        if c is not None:
            out[c] = ((b.top, b.left, b.bottom + 1, b.right + 1), b)
    return out


def _unit(net: Net, layer: int, channel: int, row: int, col: int, fields: dict) -> None:
    title, values = net.columns[layer]
    st.markdown(f"#### One unit of {title}: what it sees")
    left, right = st.columns([1, 2])
    with left:
        st.session_state["_unit_shape"] = values.shape[1:]
        png, _ = marked_map_png(values[channel], None, (row, col), min_side=168)
        streamlit_image_coordinates(EncodedPng(png), key=UNIT_CLICK, width=168, cursor="crosshair")
        r, c = st.columns(2)
        r.number_input("Row", 0, values.shape[1] - 1, key=ROW)
        c.number_input("Column", 0, values.shape[2] - 1, key=COL)
    with right:
        v = float(values[channel, row, col])
        st.markdown(
            f"Channel {channel}, row {row}, column {col}: value **{v:.4g}**. Click a cell of the "
            "map (or type its row and column): its receptive field is outlined in magenta on "
            "the input and on every layer above."
        )
        if 0 not in fields:
            st.caption("The receptive field of this unit cannot be traced here.")
            return
        (top, lft, bottom, rgt), box = fields[0]
        h, w = net.columns[0][1].shape[1:]
        fh, fw = box.size
        inside = f"rows {top}–{bottom - 1}, columns {lft}–{rgt - 1} of the {h} × {w} input"
        over = tuple(box.field) != (box.top, box.left, box.bottom, box.right)
        st.container(key="unit_words").markdown(
            f"It sees **{fh} × {fw} input pixels** ({inside})"
            + (
                f"; here only {bottom - top} × {rgt - lft} of them are on the picture, the rest "
                "of the window hangs over the edge, on the padding's zeros"
                if over
                else ""
            )
            + ". Nothing outside that window can change this number: it is the unit's "
            "**receptive field**, outlined in magenta on every layer of the overview."
        )
