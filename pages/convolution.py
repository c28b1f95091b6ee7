"""Convolution playground: your image through your kernel, with stride, padding, dilation,
activation and pooling, the output-size formula in your numbers, and any pixel's arithmetic."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz import playground
from cnnviz.kernels import preset
from cnnviz.playground import CHANNEL_MODES, Settings
from cnnviz.render.colormaps import DEFAULT_DIVERGING, DEFAULT_SEQUENTIAL, DIVERGING, SEQUENTIAL
from cnnviz.shapes import SettingError
from cnnviz.ui import chain, compare, fragments, map_view
from cnnviz.ui import quiz as quiz_ui
from cnnviz.ui.common import code_expander, run_safely, see_also, show_source
from cnnviz.ui.image_input import SOURCES, pick_image, show_refusal
from cnnviz.ui.kernel_editor import edit_kernel
from cnnviz.ui.kernel_editor import label as kernel_label
from cnnviz.ui.links import hideable, share_link
from cnnviz.ui.params import choice, fix_setter, pair_input
from cnnviz.ui.present import presentation_mode, settings_box
from cnnviz.ui.sizes import PADDING_KIND_HELP, PADDING_KINDS, refuse_chain, show_formulas

ACTIVATIONS = {
    "none": "None",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "sigmoid": "Sigmoid",
    "tanh": "tanh",
}
POOLS = {"none": "None", "max": "Max", "avg": "Average"}
MODES = ("zeros", "reflect", "replicate", "circular")
EXTRA = ("sobel_y", "sobel_x", "gaussian_3", "laplacian_4", "sharpen", "emboss", "box_blur_3")
CHANNEL_TEXT = {
    "gray": "The picture becomes one channel of brightness (0.299·R + 0.587·G + 0.114·B). "
    "One kernel slides over it and makes one feature map.",
    "depthwise": "Each 2-D kernel slides over R, G and B separately: three maps per filter, one "
    "per colour. This is a depthwise convolution (PyTorch: groups=3), whose maps come colour by "
    "colour: R with each filter, then G, then B.",
    "rgb": "What a CNN layer really does: each filter is a kernel of depth 3, one slice per "
    "colour. Each slice makes a partial map; the three are added, plus the bias, into ONE map.",
}
# playground.Settings field -> this page's widget key, for the one-click fixes, and its range
FIELD_KEYS = {
    "stride": "s",
    "padding": "p",
    "dilation": "d",
    "padding_mode": "pm",
    "pool_size": "pool_k",
    "pool_stride": "pool_s",
    "pool": "pool",
}
LIMITS = {
    "stride": (1, 8),
    "padding": (0, 10),
    "dilation": (1, 5),
    "pool_size": (1, 8),
    "pool_stride": (1, 8),
}


def embed(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A kernel centred in zeros of a larger size: one layer has one kernel size."""
    out = np.zeros(shape, np.float32)
    r, c = (shape[0] - k.shape[0]) // 2, (shape[1] - k.shape[1]) // 2
    out[r : r + k.shape[0], c : c + k.shape[1]] = k
    return out


def _image_picker():
    with st.container(border=True):
        return pick_image()


def _padding(square: bool):
    """Padding: a number (per dimension), or valid / same / full."""
    kind = choice("Padding", PADDING_KINDS, "number", "pk", PADDING_KIND_HELP)
    if kind != "number":
        return kind
    return pair_input("Padding size", "p", 0, 10, 0, square, "cells added on each side", True)


def controls() -> tuple[np.ndarray, str, tuple, str, tuple, dict]:
    """The sidebar: the picture, its channels, the kernel(s) and the colours."""
    image, name = hideable("src", "picture", _image_picker, fmt=lambda v: v[1])
    with st.container(border=True):
        channels = hideable(
            "ch",
            "channels",
            lambda: choice("Channels", CHANNEL_MODES, "gray", "ch"),
            fmt=CHANNEL_MODES.get,
        )
        st.caption(CHANNEL_TEXT[channels])
        kernel = hideable(
            "kernel",
            "kernel",
            edit_kernel,
            fmt=lambda k: kernel_label(st.session_state.get("kernel", "")),
        )
        extra = hideable(
            "extra",
            "more filters",
            lambda: st.pills(
                "More filters in the same layer",
                EXTRA,
                selection_mode="multi",
                default=[],
                key="extra",
                bind="query-params",
                format_func=lambda n: n.replace("_", " "),
                help="Each filter makes one more map: the output gets deeper.",
            ),
            fmt=lambda v: ", ".join(n.replace("_", " ") for n in v) or "none",
        )
        weights = (1.0, 1.0, 1.0)
        if channels == "rgb":
            cols = st.columns(3)
            weights = tuple(
                float(
                    c.number_input(
                        f"× on {ch}",
                        -5.0,
                        5.0,
                        1.0,
                        0.25,
                        key=f"w{ch[0].lower()}",
                        bind="query-params",
                    )
                )
                for c, ch in zip(cols, ("Red", "Green", "Blue"))
            )
            st.caption("The kernel's three slices are your kernel times these numbers.")
    filters = [kernel] + [preset(n) for n in extra]
    shape = (max(f.shape[0] for f in filters), max(f.shape[1] for f in filters))
    if len(filters) > 1 and any(f.shape != shape for f in filters):
        st.caption(
            f"One layer has one kernel size: smaller kernels sit centred in zeros, "
            f"{shape[0]}×{shape[1]}."
        )
    filters = tuple(embed(f, shape) for f in filters)
    with st.expander("Colours", icon=":material/palette:"):
        div = st.selectbox(
            "Signed maps (centred on 0)",
            DIVERGING,
            index=DIVERGING.index(DEFAULT_DIVERGING),
            key="div",
            bind="query-params",
        )
        seq = st.selectbox(
            "Non-negative maps",
            SEQUENTIAL,
            index=SEQUENTIAL.index(DEFAULT_SEQUENTIAL),
            key="seq",
            bind="query-params",
        )
        st.caption("The defaults read well with every kind of colour vision.")
    return image.array, name, filters, channels, weights, {"div": div, "seq": seq, "extra": extra}


def layer_controls(filters: tuple, channels: str, weights: tuple) -> Settings:
    """Stride, padding, dilation, bias, activation and pooling: above the maps they change, in
    the same fragment, so moving one reruns only the layer, not the picture or kernel pickers.
    In presentation mode they fold into a collapsed expander, so the result comes first."""
    with settings_box("Layer settings", sidebar=False), st.container(border=True):
        conv, act_col, pool_col = st.columns([2, 1, 1], gap="medium")
        with conv:
            square = hideable(
                "sq",
                "same numbers for height and width",
                lambda: st.toggle(
                    "Same numbers for height and width", True, key="sq", bind="query-params"
                ),
            )
            a, b = st.columns(2)
            with a:
                stride = hideable(
                    "s",
                    "stride",
                    lambda: pair_input(
                        "Stride", "s", 1, 8, 1, square, "how far the window moves each step", True
                    ),
                )
                padding = hideable("p", "padding", lambda: _padding(square))
            with b:
                dilation = hideable(
                    "d",
                    "dilation",
                    lambda: pair_input(
                        "Dilation", "d", 1, 5, 1, square, "gaps between kernel taps", True
                    ),
                )
                mode = hideable(
                    "pm",
                    "padding mode",
                    lambda: st.selectbox(
                        "Padding mode",
                        MODES,
                        key="pm",
                        bind="query-params",
                        help="what the padding cells contain",
                    ),
                )
                bias = hideable(
                    "b",
                    "bias",
                    lambda: st.slider(
                        "Bias",
                        -2.0,
                        2.0,
                        0.0,
                        0.05,
                        key="b",
                        bind="query-params",
                        help="added to every output value",
                    ),
                )
        with act_col:
            act = hideable(
                "act",
                "activation",
                lambda: st.selectbox(
                    "Activation",
                    list(ACTIVATIONS),
                    format_func=ACTIVATIONS.get,
                    index=1,
                    key="act",
                    bind="query-params",
                ),
                fmt=ACTIVATIONS.get,
            )
            slope = 0.01
            if act == "leaky_relu":
                slope = hideable(
                    "slope",
                    "negative slope",
                    lambda: st.slider(
                        "Negative slope", 0.0, 0.5, 0.1, 0.01, key="slope", bind="query-params"
                    ),
                )
        with pool_col:
            pool = hideable(
                "pool",
                "pooling",
                lambda: choice("Pooling", POOLS, "max", "pool"),
                fmt=POOLS.get,
            )
            pool_k = pool_s = 2
            if pool != "none":
                pool_k = hideable(
                    "pool_k",
                    "pool size",
                    lambda: st.slider("Pool size", 1, 8, 2, key="pool_k", bind="query-params"),
                )
                pool_s = hideable(
                    "pool_s",
                    "pool stride",
                    lambda: st.slider("Pool stride", 1, 8, 2, key="pool_s", bind="query-params"),
                )
    return Settings(
        filters,
        channels,
        weights,
        stride,
        padding,
        mode,
        dilation,
        float(bias),
        act,
        float(slope),
        pool,
        pool_k,
        pool_s,
    )


# Button callback: set every control a whole-chain fix names (both dimensions).
apply_chain = fix_setter(FIELD_KEYS, kind_key="pk", square_key="sq", pairs=("s", "p", "d"))


def size_panel(x_shape, r: playground.Result | None, s: Settings) -> None:
    c, h, w = x_shape
    if r is None:
        return
    o, ho, wo = r.feature.shape
    chain = f"**{h} × {w} × {c}** → conv → **{ho} × {wo} × {o}**"
    if s.activation != "none":
        chain += f" → {ACTIVATIONS[s.activation]} → **{ho} × {wo} × {o}**"
    if r.pooled is not None:
        _, hp, wp = r.pooled.shape
        chain += f" → {POOLS[s.pool].lower()} pool → **{hp} × {wp} × {o}**"
    st.markdown(f"#### Sizes (height × width × depth)\n{chain}")
    show_formulas(r.conv_size, "Convolution")
    if r.pool_size is not None:
        show_formulas(r.pool_size, "Pooling")
        st.caption(f"Pooling keeps the depth: {o} map{'s' if o > 1 else ''} in, {o} out.")


def page() -> None:
    st.title("Convolution")
    st.write(
        "Slide a kernel over a picture. Every map below is computed here, now, by the code "
        "you can open at the bottom; click a pixel of the feature map to see its sum."
    )
    top = st.container(horizontal=True, horizontal_alignment="right")
    quiz = quiz_ui.quiz_mode()
    with settings_box():  # the sidebar; one expander in presentation mode
        image, name, filters, channels, weights, view = controls()
    show_refusal()
    layer(image, name, filters, channels, weights, view, quiz)
    with top:
        share_link()


@fragments.fragment
def layer(
    image: np.ndarray,
    name: str,
    filters: tuple,
    channels: str,
    weights: tuple,
    view: dict,
    quiz: bool = False,
) -> None:
    """The layer's settings and everything they change: a fragment, so a stride or padding move
    reruns only this, not the sidebar's picture and kernel pickers."""
    s = layer_controls(filters, channels, weights)
    try:
        r = fragments.run(image, s)
    except SettingError as err:
        x = playground.as_input(image, s.channels)
        what = "Pooling" if err.op == "pool" else "Convolution"
        fixes = playground.chain_fixes(x.shape[1:], s.filters[0].shape, s, LIMITS)
        refuse_chain(err, what, fixes, apply_chain)
        map_view.show_input(x, None, None, view)
        return
    if quiz:
        quiz_ui.kernel_card(image, s)
    x = r.input
    if presentation_mode():  # the result first on a projector, its sizes after
        chain.explore(r, s, view)
        size_panel(x.shape, r, s)
    else:
        size_panel(x.shape, r, s)
        chain.explore(r, s, view)
    compare.show_compare(image, s, r, view)
    # Closed expanders and the link popover are drawn only when opened (opening reruns the
    # page): a slider move doesn't rebuild code nobody is reading.
    if (code := code_expander("Show the code", "code_open")) is not None:
        with code:
            st.markdown("**The same layer in PyTorch**")
            st.code(
                "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n"
                + playground.torch_code(s, x.shape[0]),
                language="python",
            )
    show_source(cnnviz.conv2d, playground.run)
    map_view.downloads(r, s, view, name)
    see_also("pages/step_by_step.py", "pages/pooling.py", "pages/output_size.py")


run_safely(
    page,
    url_labels={
        "ch": CHANNEL_MODES.get,
        "pool": POOLS.get,
        "act": ACTIVATIONS.get,
        "src": SOURCES.get,
        "kernel": kernel_label,
    },
)
