"""Output size: the formula for conv, pooling and transposed conv, in the user's own numbers."""

import streamlit as st

import cnnviz
from cnnviz.codegen import layer_code
from cnnviz.figures.sizes import coverage_figure, stamp_figure, strip_spec
from cnnviz.shapes import SettingError, conv_dim, pool_dim, transpose_dim
from cnnviz.ui import quiz as quiz_ui
from cnnviz.ui.common import (
    code_expander,
    run_safely,
    see_also,
    show_setting_error,
    show_source,
)
from cnnviz.ui.links import hideable
from cnnviz.ui.params import choice, fix_setter, pair_input
from cnnviz.ui.present import presentation_mode
from cnnviz.ui.sizes import (
    CEIL_HELP,
    CEIL_LABEL,
    OUTPUT_PADDING_HELP,
    PADDING_KIND_HELP,
    PADDING_KINDS,
)

# torch argument name -> this page's widget key (the width's key adds "_w")
KEYS = {
    "padding": "p",
    "kernel_size": "k",
    "stride": "s",
    "dilation": "d",
    "output_padding": "opad",
}
OPS = {"conv": "Convolution", "pool": "Pooling", "conv_transpose": "Transposed"}


def _padding(op: str, same: bool):
    kind = "number"
    if op == "conv":
        kind = choice("Padding", PADDING_KINDS, "number", "pad_kind", PADDING_KIND_HELP)
    if kind != "number":
        return kind
    return pair_input("Padding", "p", 0, 64, 0, same, "cells added on each side")


def controls() -> dict:
    op = hideable(
        "op",
        "layer",
        lambda: choice("Layer", OPS, "conv", "op"),
        fmt=OPS.get,
    )
    same = hideable(
        "square",
        "same numbers for height and width",
        lambda: st.toggle(
            "Same numbers for height and width", True, key="square", bind="query-params"
        ),
    )
    s = dict(op=op)
    s["input"] = hideable(
        "in",
        "input size",
        lambda: pair_input("Input size", "in", 1, 4096, 28, same, "pixels per side"),
    )
    s["kernel"] = hideable(
        "k",
        "kernel size",
        lambda: pair_input("Kernel size", "k", 1, 64, 3, same, "the window's side"),
    )
    s["stride"] = hideable(
        "s",
        "stride",
        lambda: pair_input("Stride", "s", 1, 64, 1, same, "how far the window moves each step"),
    )
    s["padding"] = hideable("p", "padding", lambda: _padding(op, same))
    s["dilation"] = hideable(
        "d",
        "dilation",
        lambda: pair_input("Dilation", "d", 1, 16, 1, same, "spacing between kernel taps"),
    )
    if op == "conv":
        s["padding_mode"] = hideable(
            "mode",
            "padding mode",
            lambda: st.selectbox(
                "Padding mode",
                ("zeros", "reflect", "replicate", "circular"),
                key="mode",
                bind="query-params",
                help="what the padding cells contain",
            ),
        )
    if op == "pool":
        s["ceil_mode"] = hideable(
            "ceil",
            "ceil_mode",
            lambda: st.toggle(CEIL_LABEL, False, key="ceil", bind="query-params", help=CEIL_HELP),
        )
    if op == "conv_transpose":
        s["output_padding"] = hideable(
            "opad",
            "output padding",
            lambda: pair_input("Output padding", "opad", 0, 63, 0, same, OUTPUT_PADDING_HELP),
        )
    return s


apply_fix = fix_setter(
    {**KEYS, "padding_mode": "mode"}, kind_key="pad_kind", square_key="square", pairs=KEYS.values()
)


def compute(s: dict) -> cnnviz.OutputSize:
    return cnnviz.output_size(
        s["input"],
        s["kernel"],
        s["stride"],
        s["padding"],
        s["dilation"],
        op=s["op"],
        ceil_mode=s.get("ceil_mode", False),
        output_padding=s.get("output_padding", 0),
        padding_mode=s.get("padding_mode", "zeros"),
    )


def show_result(s: dict, out: cnnviz.OutputSize) -> None:
    h, w = out.size
    st.success(f"### Output: {h} × {w}", icon=":material/check_circle:")
    dims = out.dims[:1] if out.symmetric else out.dims
    for d in dims:
        label = d.axis if len(dims) == 2 else "height and width"
        st.markdown(f"**{label.capitalize()}**")
        st.markdown(f"#### `{d.formula}`")
        st.write(d.explanation)
    tabs = st.tabs([d.axis.capitalize() for d in dims]) if len(dims) == 2 else [st.container()]
    for tab, d in zip(tabs, dims):
        with tab:
            fig = stamp_figure(d) if s["op"] == "conv_transpose" else coverage_figure(d)
            if fig is not None:
                st.vega_lite_chart(strip_spec(fig), width="stretch", key=f"fig_{d.axis}")
            else:
                st.caption("Too many cells to draw; make the input smaller to see every window.")
    code = layer_code(
        s["op"],
        s["kernel"],
        s["stride"],
        s["padding"],
        s["dilation"],
        ceil_mode=s.get("ceil_mode", False),
        output_padding=s.get("output_padding", 0),
        padding_mode=s.get("padding_mode", "zeros"),
    )
    if (box := code_expander("The same layer in PyTorch", "code_open")) is not None:
        box.code(
            f"import torch\nfrom torch import nn\n\nlayer = {code}\n"
            f"x = torch.zeros(1, 1, {s['input'][0]}, {s['input'][1]})\n"
            f"print(layer(x).shape)  # torch.Size([1, 1, {h}, {w}])",
            language="python",
        )
    engine = {"conv": conv_dim, "pool": pool_dim, "conv_transpose": transpose_dim}[s["op"]]
    show_source(engine)
    see_also("pages/convolution.py", "pages/pooling.py", "pages/step_by_step.py")


def page() -> None:
    st.title("Output size")
    st.write(
        "How big is a layer's output? Set the numbers: the formula fills itself in, and the "
        "picture shows which input cells every window reads."
    )
    quiz = quiz_ui.quiz_mode()
    if presentation_mode():  # the result first, the settings in one collapsed expander
        left, right = st.expander("Settings", icon=":material/tune:"), st.container()
    else:
        left, right = st.columns([1, 2], gap="large")
    with left:
        s = controls()
    with right:
        try:
            out = compute(s)
        except SettingError as err:
            show_setting_error(err, apply=apply_fix)
            return
        if quiz and not quiz_ui.size_card(out):
            st.caption("Answer first: the size, its formula and the picture appear after.")
            return
        show_result(s, out)


run_safely(page, url_labels={"op": OPS.get})
