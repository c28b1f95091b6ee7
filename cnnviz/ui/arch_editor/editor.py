"""The Train page's architecture block: presets, layers to add / remove / reorder with their
settings, the spec text in the URL (?arch=...), the live layer table with every number's
arithmetic, an impossible net explained before training, and the net as PyTorch code.

`edit_architecture(input_shape, n_classes)` draws it and returns the spec text (which may still
be a net that cannot work: the red box is already shown; `arch.check` / `arch.build` say why).
"""

from __future__ import annotations

import streamlit as st

from cnnviz import arch
from cnnviz.arch import ArchError
from cnnviz.ui.arch_editor.layer_rows import add_controls, layer_rows
from cnnviz.ui.arch_editor.state import (
    CONTEXT,
    CUSTOM,
    NOTE,
    ROWS,
    SYNCED,
    TEXT_ERROR,
    apply_spec,
    current_layers,
    load,
    matching_preset,
    on_preset,
    on_preset_picked,
    on_text,
)
from cnnviz.ui.arch_editor.table import details, layer_table, show_shape
from cnnviz.ui.common import code_expander, fix_buttons


def _show_error(err: ArchError, title: str) -> None:
    """The reason (it names the layer and what would fit) and a button per fix that works."""
    st.error(f"**{title}.** {err}", icon=":material/block:")
    fix_buttons(
        [(w, s) for w, s in err.fixes if s],
        lambda fix: apply_spec(fix[1]),
        words=lambda fix: fix[0],
        verb="Apply:",
        key="arch_fix",
    )


def edit_architecture(input_shape, n_classes: int, reshow: bool = False) -> str:
    """Draw the architecture block for inputs of input_shape (C, H, W) and n_classes classes;
    return the spec text (also in the URL as ?arch=...). `reshow`: the block was off the page
    in the last run (a closed step, links.offstage), so the browser no longer holds the values
    of the text and preset boxes: they are sent again."""
    state = st.session_state
    shape = tuple(int(s) for s in input_shape)
    context = (shape, int(n_classes))
    moved = state.get(CONTEXT) not in (None, context)
    state[CONTEXT] = context
    url = st.query_params.get("arch")
    if ROWS not in state or (url is not None and url != state.get(SYNCED)):
        load(url)
    elif moved and state.get("arch_preset") in arch.PRESETS:
        on_preset()  # new data: the untouched preset adapts to the new input
    layers = current_layers()
    text = arch.to_text(layers)
    # widget state is dropped while on another page; a value set here is sent to the browser
    if state.get("arch_text") is None or reshow:
        state["arch_text"] = state.get("arch_text") or text  # keeps text still being fixed
    if state.get("arch_preset") is None or reshow:
        state["arch_preset"] = state.get("arch_preset") or matching_preset(text)

    st.selectbox(
        "Start from a preset",
        [CUSTOM, *arch.PRESETS],
        key="arch_preset",
        on_change=on_preset_picked,
        format_func=lambda k: "your own (edited)" if k == CUSTOM else arch.PRESET_INFO[k][0],
        help="a classic net; then change it below",
    )
    if state.get("arch_preset") in arch.PRESETS:
        name = state["arch_preset"]
        st.caption(f"{arch.PRESET_INFO[name][1]} {arch.preset_training_text(name)}")
    st.text_input(
        "The net as text (also in the page's link)",
        key="arch_text",
        on_change=on_text,
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
        layer_rows(layers, rows, failed[0] if failed else None)
        add_controls(layers)

    head, switch = st.columns([3, 2], vertical_alignment="bottom")
    switch.toggle(
        "H × W × C (Keras order)",
        key="arch_hwc",
        bind="query-params",
        help="Write shapes as Keras and TensorFlow do, height × width × channels, instead of "
        "PyTorch's channels × height × width. The numbers do not change.",
    )
    head.markdown(f"**What each layer makes of a {show_shape(shape)} input**")
    layer_table(rows, shape, failed)
    if error is not None:
        _show_error(error, "This net cannot work" if failed else "This net cannot be trained here")
    if rows:
        details(rows)
    if (box := code_expander("Export as PyTorch code", "export_open")) is not None:
        if error is None:
            box.code(arch.to_code(layers, shape, n_classes), language="python")
        else:
            box.caption("Fix the net first (see the red box): the code would not run.")

    if st.query_params.get("arch") != text:
        st.query_params["arch"] = text
    state[SYNCED] = text
    return text
