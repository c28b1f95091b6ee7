"""The editor's layer list: each layer's settings as number boxes, its buttons (up, down,
duplicate, remove) and their callbacks, and the "Add a layer" controls."""

from __future__ import annotations

import streamlit as st

from cnnviz import arch
from cnnviz.arch import Layer
from cnnviz.ui.arch_editor.state import NOTE, ROWS, new_uid, store
from cnnviz.ui.arch_editor.table import show_shape

# what "Add" inserts, per kind
NEW = {
    "conv": {"out_channels": 8, "kernel_size": 3, "padding": 1},
    "maxpool": {"kernel_size": 2},
    "avgpool": {"kernel_size": 2},
    "linear": {"out_features": 64},
    "dropout": {"p": 0.5},
    "res": {"out_channels": 8, "kernel_size": 3},
}
KIND_HELP = {
    "conv": "slides small filters over the map; each filter makes one output channel",
    "relu": "keeps positives, turns negatives into 0",
    "leaky_relu": "like ReLU, but negatives are multiplied by a small slope",
    "sigmoid": "squashes every number into (0, 1)",
    "tanh": "squashes every number into (−1, 1)",
    "gelu": "a smooth ReLU",
    "maxpool": "keeps the largest number of each window: usually a smaller map",
    "avgpool": "averages each window: usually a smaller map",
    "batchnorm": "rescales each channel to mean 0, spread 1 (then a learnt scale and shift)",
    "dropout": "while training, zeroes a random fraction p of the numbers and multiplies the "
    "others by 1/(1 − p), so the mean stays the same; at test time it does nothing",
    "flatten": "lines a C×H×W map up into one vector for the linear layers",
    "linear": "every output is a weighted sum of all the inputs",
    "gap": "averages each channel's whole map into one number",
    "res": "two convs plus a skip: the block's input is added to their output (ResNet)",
}


def _move(pos: int, delta: int) -> None:
    rows = list(st.session_state[ROWS])
    j = pos + delta
    if 0 <= j < len(rows):
        rows[pos], rows[j] = rows[j], rows[pos]
        store(rows)


def _remove(pos: int) -> None:
    rows = list(st.session_state[ROWS])
    if 0 <= pos < len(rows) and len(rows) > 1:
        del rows[pos]
        store(rows)


def _duplicate(pos: int) -> None:
    rows = list(st.session_state[ROWS])
    if 0 <= pos < len(rows) and len(rows) < arch.MAX_LAYERS:
        rows.insert(pos + 1, (new_uid(), rows[pos][1]))
        store(rows)


def _add() -> None:
    state = st.session_state
    kind = state.get("arch_add_kind") or "conv"
    rows = list(state[ROWS])
    if len(rows) >= arch.MAX_LAYERS:
        state[NOTE] = f"A net here has at most {arch.MAX_LAYERS} layers; remove one first."
        return
    pos = state.get("arch_add_pos")
    # -1: at the end; a label instead of a place (the layers it named changed): the end too
    pos = pos if isinstance(pos, int) and 0 <= pos < len(rows) else len(rows)
    rows.insert(pos, (new_uid(), Layer(kind, dict(NEW.get(kind, {})))))
    store(rows)


def _replace(uid: int, layer: Layer) -> None:
    rows = [(u, layer if u == uid else old) for u, old in st.session_state[ROWS]]
    store(rows)


def _find(uid: int) -> Layer | None:
    return next((layer for u, layer in st.session_state[ROWS] if u == uid), None)


def _on_arg(uid: int, name: str) -> None:
    layer = _find(uid)
    value = st.session_state.get(f"arch_{uid}_{name}")
    if layer is None or value is None:
        return
    args = {**layer.args, name: value}
    if layer.kind in ("maxpool", "avgpool") and name == "kernel_size":
        if layer.args["stride"] == layer.args["kernel_size"]:  # stride followed the window
            args["stride"] = value
            st.session_state[f"arch_{uid}_stride"] = value
        args["padding"] = min(args["padding"], value // 2)
        st.session_state[f"arch_{uid}_padding"] = args["padding"]
    _replace(uid, Layer(layer.kind, args))


def _on_kind(uid: int) -> None:
    kind = st.session_state.get(f"arch_{uid}_kind")
    if kind in arch.KINDS:
        _replace(uid, Layer(kind))


def _on_classes(uid: int) -> None:
    per_class = st.session_state.get(f"arch_{uid}_classes")
    layer = _find(uid)
    if layer is None:
        return
    n = None if per_class else (st.session_state.get(f"arch_{uid}_out_features") or 64)
    _replace(uid, Layer("linear", {"out_features": n}))


# ---------------------------------------------------------------- drawing


def _number(uid, layer: Layer, name: str, label: str, help: str, column) -> None:
    group = "pool" if layer.kind in ("maxpool", "avgpool") else layer.kind
    lo, hi = arch.RANGES[(group, name)]
    value = layer.args[name]
    is_float = isinstance(lo, float)
    if layer.kind in ("maxpool", "avgpool") and name == "padding":
        hi = layer.args["kernel_size"] // 2
    column.number_input(
        label,
        lo,
        hi,
        value if value is not None else lo,
        0.05 if is_float else 1,
        key=f"arch_{uid}_{name}",
        help=help,
        on_change=_on_arg,
        args=(uid, name),
    )


def _settings(uid: int, layer: Layer, is_last_fc: bool) -> None:
    kind = layer.kind
    if kind == "conv":
        cols = st.columns(5)
        _number(uid, layer, "out_channels", "filters", "output channels", cols[0])
        _number(uid, layer, "kernel_size", "kernel", "each filter is kernel × kernel", cols[1])
        _number(uid, layer, "stride", "stride", "steps between windows", cols[2])
        _number(uid, layer, "padding", "padding", "zeros added on each side", cols[3])
        _number(uid, layer, "dilation", "dilation", "spacing between filter taps", cols[4])
    elif kind == "res":
        cols = st.columns(5)
        _number(uid, layer, "out_channels", "filters", "output channels of both convs", cols[0])
        _number(uid, layer, "kernel_size", "kernel", "odd: the convs keep the size", cols[1])
    elif kind in ("maxpool", "avgpool"):
        cols = st.columns(5)
        _number(uid, layer, "kernel_size", "window", "window is size × size", cols[0])
        _number(uid, layer, "stride", "stride", "steps between windows", cols[1])
        _number(uid, layer, "padding", "padding", "at most half the window", cols[2])
    elif kind in arch.ACTIVATION_KINDS:
        cols = st.columns([2, 1, 2])
        cols[0].selectbox(
            "function",
            arch.ACTIVATION_KINDS,
            index=arch.ACTIVATION_KINDS.index(kind),
            format_func=arch.TITLES.get,
            key=f"arch_{uid}_kind",
            on_change=_on_kind,
            args=(uid,),
        )
        if kind == "leaky_relu":
            _number(uid, layer, "negative_slope", "slope", "multiplies negatives", cols[1])
    elif kind == "dropout":
        cols = st.columns(5)
        _number(
            uid,
            layer,
            "p",
            "p",
            "fraction zeroed while training; the rest are multiplied by 1/(1 − p)",
            cols[0],
        )
    elif kind == "linear":
        cols = st.columns([1, 2, 2])
        if is_last_fc:
            cols[1].checkbox(
                "one per class",
                layer.args["out_features"] is None,
                key=f"arch_{uid}_classes",
                on_change=_on_classes,
                args=(uid,),
                help="the last layer gives one score per class of the data",
            )
        if layer.args["out_features"] is not None or not is_last_fc:
            _number(uid, layer, "out_features", "outputs", "numbers this layer gives", cols[0])
    else:
        st.caption(KIND_HELP[kind])


def layer_rows(layers: list[Layer], table: list[arch.Row], bad: int | None) -> None:
    rows = st.session_state[ROWS]
    last_fc = max((i for i, L in enumerate(layers) if L.kind == "linear"), default=None)
    for pos, (uid, layer) in enumerate(rows):
        with st.container(border=True, key=f"arch_row_{pos}"):
            c0, c1, c2 = st.columns([2, 5, 2.5], vertical_alignment="center")
            if pos == bad:
                out = " :red[does not fit]"
            elif pos < len(table):
                out = f" → {show_shape(table[pos].out_shape)}"
            else:
                out = ""
            c0.markdown(
                f"**{pos + 1}. {arch.TITLES[layer.kind]}**  \n`{layer.token}`{out}",
                help=KIND_HELP[layer.kind],
            )
            with c1:
                _settings(uid, layer, pos == last_fc)
            with c2:
                # no `help` on these: Streamlit 1.67 draws a button with help twice in the DOM
                bar = st.container(horizontal=True, gap="xxsmall")
                buttons = (
                    ("up", "arrow_upward", _move, (pos, -1), pos == 0),
                    ("down", "arrow_downward", _move, (pos, 1), pos == len(rows) - 1),
                    ("dup", "content_copy", _duplicate, (pos,), False),
                    ("remove", "delete", _remove, (pos,), len(rows) == 1),
                )
                for name, icon, click, args, disabled in buttons:
                    bar.button(
                        "",
                        key=f"arch_{name}_{pos}",
                        icon=f":material/{icon}:",
                        on_click=click,
                        args=args,
                        disabled=disabled,
                    )


def add_controls(layers: list[Layer]) -> None:
    n = len(layers)
    options = [*range(n), -1]  # -1: at the end, whatever the length
    if st.session_state.get("arch_add_pos") not in (None, *options):
        del st.session_state["arch_add_pos"]  # that layer is gone
    first_flat = next(
        (i for i, L in enumerate(layers) if L.kind in ("flatten", "gap", "linear")), n
    )
    cols = st.columns([3, 3, 2], vertical_alignment="bottom")
    cols[0].selectbox("Add a layer", arch.KINDS, format_func=arch.TITLES.get, key="arch_add_kind")
    cols[1].selectbox(
        "where",
        options,
        index=first_flat,
        format_func=lambda i: f"before {i + 1}. {layers[i].token}" if 0 <= i < n else "at the end",
        key="arch_add_pos",
    )
    cols[2].button("Add", key="arch_add", icon=":material/add:", on_click=_add, width="stretch")
