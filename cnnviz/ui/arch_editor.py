"""The Train page's architecture block: presets, layers to add / remove / reorder with their
settings, the spec text in the URL (?arch=...), the live layer table with every number's
arithmetic, an impossible net explained before training, and the net as PyTorch code.

`edit_architecture(input_shape, n_classes)` draws it and returns the spec text (which may still
be a net that cannot work: the red box is already shown; `arch.check` / `arch.build` say why).
"""

from __future__ import annotations

import streamlit as st

from cnnviz import arch
from cnnviz.arch import ArchError, Layer

ROWS = "arch_rows"  # list[tuple[int, Layer]]: a stable id per layer (widget keys) and the layer
SYNCED = "arch_synced"  # the text last written to / read from the URL
NOTE = "arch_note"  # a sentence about a change the app made (flat inserted, preset padded...)
TEXT_ERROR = "arch_text_error"
CONTEXT = "arch_context"  # (input_shape, n_classes) of the last run, for callbacks
UID = "arch_uid"
CUSTOM = "custom"

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


# ---------------------------------------------------------------- state


def _layers() -> list[Layer]:
    return [layer for _, layer in st.session_state[ROWS]]


def _new_uid() -> int:
    st.session_state[UID] = st.session_state.get(UID, 0) + 1
    return st.session_state[UID]


def _matching_preset(text: str) -> str:
    shape, n = st.session_state[CONTEXT]
    for name, spec in arch.PRESETS.items():
        if text == spec:
            return name
        try:
            if text == arch.preset_for(name, shape, n)[0]:
                return name
        except ArchError:
            continue
    return CUSTOM


def _store(rows: list[tuple[int, Layer]], note: str | None = None) -> None:
    """The one place layers change: rows, the text box, the preset box, the note."""
    state = st.session_state
    state[ROWS] = rows
    text = arch.to_text([layer for _, layer in rows]) if rows else ""
    state["arch_text"] = text
    state["arch_preset"] = _matching_preset(text)
    state[TEXT_ERROR] = None
    state[NOTE] = note


def _set_layers(layers: list[Layer], note: str | None = None) -> None:
    _store([(_new_uid(), layer) for layer in layers], note)


def _default() -> list[Layer]:
    shape, n = st.session_state[CONTEXT]
    spec, _ = arch.preset_for(arch.DEFAULT_PRESET, shape, n)
    return arch.parse(spec)


def _load(text: str | None) -> None:
    """Layers from the URL's text (or a preset name); unreadable text falls back to the default
    with a note, never an error."""
    if text is None or text == "":
        _set_layers(_default())
        return
    shape, n = st.session_state[CONTEXT]
    if text in arch.PRESETS:
        spec, note = arch.preset_for(text, shape, n)
        _set_layers(arch.parse(spec), note)
        return
    notes: list[str] = []
    try:
        layers = arch.parse(text, notes)
    except ArchError as err:
        _set_layers(
            _default(),
            f"The architecture in the link could not be read ({err}) Showing the "
            f"{arch.PRESET_INFO[arch.DEFAULT_PRESET][0].lower()} net instead.",
        )
        return
    _set_layers(layers, " ".join(notes) or None)


# ---------------------------------------------------------------- callbacks


def _on_preset() -> None:
    name = st.session_state.get("arch_preset")
    if name in arch.PRESETS:
        shape, n = st.session_state[CONTEXT]
        spec, note = arch.preset_for(name, shape, n)
        _set_layers(arch.parse(spec), note)


APPLIED = "arch_applied_training"  # the training settings the last picked preset set


def _on_preset_picked() -> None:
    """A preset picked from the box: its layers, and the training settings it was measured
    with (arch.PRESET_TRAINING) on the Train step, except those the user has set to something
    else (a value that is neither the page's default nor the last preset's is kept); the URL
    follows."""
    from cnnviz.ui.training import DEFAULTS, OPTIMIZER_LABELS

    _on_preset()
    state = st.session_state
    name = state.get("arch_preset")
    if name not in arch.PRESET_TRAINING:
        return
    t = arch.preset_training(name)
    new = {
        "opt": OPTIMIZER_LABELS[t["optimizer"]],
        "lr": t["lr"],
        "bs": t["batch_size"],
        "epochs": t["epochs"],
    }
    before = state.get(APPLIED, {})
    for key, value in new.items():
        if state.get(key) in (None, DEFAULTS[key], before.get(key)):
            state[key] = value
    state[APPLIED] = new


def _on_text() -> None:
    text = st.session_state.get("arch_text") or ""
    notes: list[str] = []
    try:
        layers = arch.parse(text, notes)
    except ArchError as err:
        st.session_state[TEXT_ERROR] = str(err)
        return
    _store(_keep_uids(layers), " ".join(notes) or None)


def _keep_uids(layers: list[Layer]) -> list[tuple[int, Layer]]:
    """Reuse the ids of unchanged layers at the same place (their widgets keep their state)."""
    old = st.session_state[ROWS]
    return [
        (old[i][0] if i < len(old) and old[i][1] == layer else _new_uid(), layer)
        for i, layer in enumerate(layers)
    ]


def _apply_spec(spec: str) -> None:
    notes: list[str] = []
    _store(_keep_uids(arch.parse(spec, notes)), " ".join(notes) or None)


def _move(pos: int, delta: int) -> None:
    rows = list(st.session_state[ROWS])
    j = pos + delta
    if 0 <= j < len(rows):
        rows[pos], rows[j] = rows[j], rows[pos]
        _store(rows)


def _remove(pos: int) -> None:
    rows = list(st.session_state[ROWS])
    if 0 <= pos < len(rows) and len(rows) > 1:
        del rows[pos]
        _store(rows)


def _duplicate(pos: int) -> None:
    rows = list(st.session_state[ROWS])
    if 0 <= pos < len(rows) and len(rows) < arch.MAX_LAYERS:
        rows.insert(pos + 1, (_new_uid(), rows[pos][1]))
        _store(rows)


def _add() -> None:
    state = st.session_state
    kind = state.get("arch_add_kind") or "conv"
    rows = list(state[ROWS])
    if len(rows) >= arch.MAX_LAYERS:
        state[NOTE] = f"A net here has at most {arch.MAX_LAYERS} layers; remove one first."
        return
    pos = state.get("arch_add_pos")
    pos = len(rows) if pos is None or not 0 <= pos < len(rows) else pos  # -1: at the end
    rows.insert(pos, (_new_uid(), Layer(kind, dict(NEW.get(kind, {})))))
    _store(rows)


def _replace(uid: int, layer: Layer) -> None:
    rows = [(u, layer if u == uid else old) for u, old in st.session_state[ROWS]]
    _store(rows)


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


def _layer_rows(layers: list[Layer], table: list[arch.Row], bad: int | None) -> None:
    rows = st.session_state[ROWS]
    last_fc = max((i for i, L in enumerate(layers) if L.kind == "linear"), default=None)
    for pos, (uid, layer) in enumerate(rows):
        with st.container(border=True, key=f"arch_row_{pos}"):
            c0, c1, c2 = st.columns([2, 5, 2.5], vertical_alignment="center")
            if pos == bad:
                out = " :red[does not fit]"
            elif pos < len(table):
                out = f" → {_shape(table[pos].out_shape)}"
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
                bar.button(
                    "",
                    key=f"arch_up_{pos}",
                    icon=":material/arrow_upward:",
                    on_click=_move,
                    args=(pos, -1),
                    disabled=pos == 0,
                )
                bar.button(
                    "",
                    key=f"arch_down_{pos}",
                    icon=":material/arrow_downward:",
                    on_click=_move,
                    args=(pos, 1),
                    disabled=pos == len(rows) - 1,
                )
                bar.button(
                    "",
                    key=f"arch_dup_{pos}",
                    icon=":material/content_copy:",
                    on_click=_duplicate,
                    args=(pos,),
                )
                bar.button(
                    "",
                    key=f"arch_remove_{pos}",
                    icon=":material/delete:",
                    on_click=_remove,
                    args=(pos,),
                    disabled=len(rows) == 1,
                )


def _add_controls(layers: list[Layer]) -> None:
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


def _shape(shape: tuple) -> str:
    return arch.shape_text(shape, "HWC" if st.session_state.get("arch_hwc") else "CHW")


def _rf(value) -> str:
    if value is None:
        return "whole image"
    h, w = value if isinstance(value, tuple) else (value, value)
    return f"{h} × {w}"


def _table(rows: list[arch.Row], input_shape, failed: tuple[int, Layer] | None) -> None:
    data = [
        dict(
            layer="input",
            output=_shape(input_shape),
            parameters="",
            arithmetic="",
            macs="",
            ops="",
            field="1 × 1",
            size="",
        )
    ]
    for r in rows:
        data.append(
            dict(
                layer=f"{r.index + 1}. {r.name}",
                output=_shape(r.out_shape),
                parameters=f"{r.params:,}",
                arithmetic=r.params_formula if r.params else "",
                macs=f"{r.macs:,}" if r.kind in ("conv", "linear") else "",
                ops=f"{r.ops:,}" if r.kind not in ("conv", "linear") else "",
                field=_rf(r.receptive_field),
                size=(r.size_formula or "").removeprefix("height and width: "),
            )
        )
    if failed is not None:
        i, layer = failed
        data.append(
            dict(
                layer=f"{i + 1}. {layer.token}",
                output="does not fit",
                parameters="",
                arithmetic="",
                macs="",
                ops="",
                field="",
                size="",
            )
        )
    st.dataframe(
        data,
        hide_index=True,
        key="arch_table",
        height=35 * (len(data) + 1) + 3,
        column_order=(
            "layer",
            "output",
            "parameters",
            "macs",
            "ops",
            "field",
            "size",
            "arithmetic",
        ),
        column_config={
            "layer": st.column_config.TextColumn("layer", help="position and spec token"),
            "output": st.column_config.TextColumn(
                "output shape",
                help="height × width × channels (Keras' order)"
                if st.session_state.get("arch_hwc")
                else "channels × height × width (PyTorch's order)",
            ),
            "parameters": st.column_config.TextColumn("parameters", help="weights + biases"),
            "arithmetic": st.column_config.TextColumn("parameters: arithmetic", width="medium"),
            "macs": st.column_config.TextColumn(
                "multiply-adds (MACs)",
                help="conv and linear layers: one multiply and one add per weight used per "
                "output (torch's FlopCounterMode counts each as 2 FLOPs)",
            ),
            "ops": st.column_config.TextColumn(
                "other operations",
                help="pooling, activations, batch norm, dropout: one operation per number read",
            ),
            "field": st.column_config.TextColumn(
                "receptive field", help="input pixels one output number sees"
            ),
            "size": st.column_config.TextColumn(
                "output size formula",
                width="large",
                help="⌊(in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1",
            ),
        },
    )
    if rows:
        t = arch.totals(rows)
        st.caption(
            f"Total: **{t['params']:,} parameters** ({t['weights']:,} weights + {t['biases']:,} "
            f"biases), **{t['macs']:,} multiply-adds (MACs)** per image in the conv and linear "
            f"layers ({2 * t['macs']:,} FLOPs, a multiply and an add each, as torch counts them), "
            f"and {t['ops']:,} other operations (pooling, activations...: one per number read)."
        )


def _details(rows: list[arch.Row]) -> None:
    with st.expander("How every number in the table is computed", icon=":material/calculate:"):
        for r in rows:
            lines = [
                f"**{r.index + 1}. {r.title}** `{r.name}`: {_shape(r.in_shape)} → "
                f"**{_shape(r.out_shape)}**"
            ]
            if r.size_formula:
                lines.append(f"- output size: {r.size_formula}")
            lines.append(f"- parameters: {r.params_formula}")
            what = "multiply-adds" if r.kind in ("conv", "linear") else "operations"
            lines.append(f"- {what}: {r.cost_formula}")
            lines.append(f"- receptive field: {_rf(r.receptive_field)}")
            if r.module:
                lines.append(f"- PyTorch: `{r.module}`")
            st.markdown("\n".join(lines))


def _show_error(err: ArchError, title: str) -> None:
    """The reason (it names the layer and what would fit) and a button per fix that works."""
    st.error(f"**{title}.** {err}", icon=":material/block:")
    for i, (words, spec) in enumerate((w, s) for w, s in err.fixes if s):
        st.button(
            f"Apply: {words}",
            key=f"arch_fix_{i}",
            on_click=_apply_spec,
            args=(spec,),
            icon=":material/auto_fix_high:",
        )


def edit_architecture(input_shape, n_classes: int) -> str:
    """Draw the architecture block for inputs of input_shape (C, H, W) and n_classes classes;
    return the spec text (also in the URL as ?arch=...)."""
    state = st.session_state
    shape = tuple(int(s) for s in input_shape)
    context = (shape, int(n_classes))
    moved = state.get(CONTEXT) not in (None, context)
    state[CONTEXT] = context
    url = st.query_params.get("arch")
    if ROWS not in state or (url is not None and url != state.get(SYNCED)):
        _load(url)
    elif moved and state.get("arch_preset") in arch.PRESETS:
        _on_preset()  # new data: the untouched preset adapts to the new input
    layers = _layers()
    text = arch.to_text(layers)
    if state.get("arch_text") is None:  # widget state is dropped while on another page
        state["arch_text"] = text
    if state.get("arch_preset") is None:
        state["arch_preset"] = _matching_preset(text)

    st.selectbox(
        "Start from a preset",
        [CUSTOM, *arch.PRESETS],
        key="arch_preset",
        on_change=_on_preset_picked,
        format_func=lambda k: "your own (edited)" if k == CUSTOM else arch.PRESET_INFO[k][0],
        help="a classic net; then change it below",
    )
    if state.get("arch_preset") in arch.PRESETS:
        name = state["arch_preset"]
        st.caption(f"{arch.PRESET_INFO[name][1]} {arch.preset_training_text(name)}")
    st.text_input(
        "The net as text (also in the page's link)",
        key="arch_text",
        on_change=_on_text,
        help="layers joined by '-': conv8k3p1 (8 filters 3×3, padding 1), relu, max2, avg2, bn, "
        "drop0.5, flat, gap, fc64, fc (one score per class). Press Enter to apply.",
    )
    if state.get(TEXT_ERROR):
        st.error(
            f"{state[TEXT_ERROR]} The layers below are still the last net that could be read.",
            icon=":material/block:",
        )
    if state.get(NOTE):
        st.info(state[NOTE], icon=":material/info:")

    rows: list[arch.Row] = []
    error = None
    failed = None
    try:
        rows = arch.summarize(layers, shape, n_classes)
    except ArchError as err:
        error = err
        if err.layer is not None:
            failed = (err.layer, layers[err.layer])
            try:
                rows = arch.summarize(layers[: err.layer], shape, n_classes) if err.layer else []
            except ArchError:
                rows = []
    if error is None:
        try:
            arch.check(layers, shape, n_classes)
        except ArchError as err:
            error = err

    with st.expander(f"Layers ({len(layers)})", expanded=True, icon=":material/stacks:"):
        _layer_rows(layers, rows, failed[0] if failed else None)
        _add_controls(layers)

    head, switch = st.columns([3, 2], vertical_alignment="bottom")
    switch.toggle(
        "H × W × C (Keras order)",
        key="arch_hwc",
        bind="query-params",
        help="Write shapes as Keras and TensorFlow do, height × width × channels, instead of "
        "PyTorch's channels × height × width. The numbers do not change.",
    )
    head.markdown(f"**What each layer makes of a {_shape(shape)} input**")
    _table(rows, shape, failed)
    if error is not None:
        _show_error(error, "This net cannot work" if failed else "This net cannot be trained here")
    if rows:
        _details(rows)
    with st.expander("Export as PyTorch code", icon=":material/code:"):
        if error is None:
            st.code(arch.to_code(layers, shape, n_classes), language="python")
        else:
            st.caption("Fix the net first (see the red box): the code would not run.")

    if st.query_params.get("arch") != text:
        st.query_params["arch"] = text
    state[SYNCED] = text
    return text
