"""Convolution playground: your image through your kernel, with stride, padding, dilation,
activation and pooling, the output-size formula in your numbers, and any pixel's arithmetic."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz import playground
from cnnviz.colors import DEFAULT_DIVERGING, DEFAULT_SEQUENTIAL, DIVERGING, SEQUENTIAL
from cnnviz.kernels import preset
from cnnviz.playground import CHANNEL_MODES, Settings
from cnnviz.shapes import Fix, SettingError
from cnnviz.ui import maps
from cnnviz.ui.common import run_safely, see_also, share_link, show_source
from cnnviz.ui.image_input import SOURCES, pick_image
from cnnviz.ui.kernel_editor import edit_kernel
from cnnviz.ui.kernel_editor import label as kernel_label
from cnnviz.ui.present import settings_box
from cnnviz.ui.sizes import PADDING_KIND_HELP, refuse, show_formulas

ACTIVATIONS = {"none": "None", "relu": "ReLU", "leaky_relu": "Leaky ReLU", "sigmoid": "Sigmoid",
               "tanh": "tanh"}  # fmt: skip
POOLS = {"none": "None", "max": "Max", "avg": "Average"}
PADDINGS = ("number", "valid", "same", "full")
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
# engine argument name -> this page's widget key, for the one-click fixes
CONV_KEYS = {"padding": "p", "stride": "s", "dilation": "d", "padding_mode": "pm"}
POOL_KEYS = {"kernel_size": "pool_k", "stride": "pool_s", "dilation": None}  # None: always 1 here


def both(label: str, key: str, lo: int, hi: int, default: int, square: bool, help: str):
    """A slider for both dimensions, or one for the height and one for the width."""
    if square:
        v = st.slider(label, lo, hi, default, key=key, bind="query-params", help=help)
        return v, v
    a, b = st.columns(2)
    h = a.slider(f"{label} ↕", lo, hi, default, key=key, bind="query-params", help=help)
    w = b.slider(f"{label} ↔", lo, hi, default, key=f"{key}_w", bind="query-params", help=help)
    return h, w


def embed(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A kernel centred in zeros of a larger size: one layer has one kernel size."""
    out = np.zeros(shape, np.float32)
    r, c = (shape[0] - k.shape[0]) // 2, (shape[1] - k.shape[1]) // 2
    out[r : r + k.shape[0], c : c + k.shape[1]] = k
    return out


def controls() -> tuple[np.ndarray, str, tuple, str, tuple, dict]:
    """The sidebar: the picture, its channels, the kernel(s) and the colours."""
    with st.container(border=True):
        image, name = pick_image()
    with st.container(border=True):
        channels = st.segmented_control("Channels", list(CHANNEL_MODES), default="gray",
                                        format_func=CHANNEL_MODES.get, required=True, key="ch",
                                        bind="query-params")  # fmt: skip
        st.caption(CHANNEL_TEXT[channels])
        kernel = edit_kernel()
        extra = st.pills("More filters in the same layer", EXTRA, selection_mode="multi",
                         default=[], key="extra", bind="query-params",
                         format_func=lambda n: n.replace("_", " "),
                         help="Each filter makes one more map: the output gets deeper.")  # fmt: skip
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
                )  # fmt: skip
                for c, ch in zip(cols, ("Red", "Green", "Blue"))
            )
            st.caption("The kernel's three slices are your kernel times these numbers.")
    filters = [kernel] + [preset(n) for n in extra]
    shape = (max(f.shape[0] for f in filters), max(f.shape[1] for f in filters))
    if len(filters) > 1 and any(f.shape != shape for f in filters):
        st.caption(f"One layer has one kernel size: smaller kernels sit centred in zeros, "
                   f"{shape[0]}×{shape[1]}.")  # fmt: skip
    filters = tuple(embed(f, shape) for f in filters)
    with st.expander("Colours", icon=":material/palette:"):
        div = st.selectbox("Signed maps (centred on 0)", DIVERGING,
                           index=DIVERGING.index(DEFAULT_DIVERGING), key="div",
                           bind="query-params")  # fmt: skip
        seq = st.selectbox("Non-negative maps", SEQUENTIAL,
                           index=SEQUENTIAL.index(DEFAULT_SEQUENTIAL), key="seq",
                           bind="query-params")  # fmt: skip
        st.caption("The defaults read well with every kind of colour vision.")
    return image.array, name, filters, channels, weights, {"div": div, "seq": seq, "extra": extra}


def layer_controls(filters: tuple, channels: str, weights: tuple) -> Settings:
    """Stride, padding, dilation, bias, activation and pooling: above the maps they change, in
    the same fragment, so moving one reruns only the layer, not the picture or kernel pickers.
    In presentation mode they fold into a collapsed expander, so the result comes first."""
    with settings_box("Layer settings", sidebar=False), st.container(border=True):
        conv, act_col, pool_col = st.columns([2, 1, 1], gap="medium")
        with conv:
            square = st.toggle("Same numbers for height and width", True, key="sq",
                               bind="query-params")  # fmt: skip
            a, b = st.columns(2)
            with a:
                stride = both("Stride", "s", 1, 8, 1, square, "how far the window moves each step")
                kind = st.segmented_control("Padding", PADDINGS, default="number", required=True,
                                            key="pk", bind="query-params",
                                            help=PADDING_KIND_HELP)  # fmt: skip
                padding = both("Padding size", "p", 0, 10, 0, square, "cells added on each side") if kind == "number" else kind  # fmt: skip
            with b:
                dilation = both("Dilation", "d", 1, 5, 1, square, "gaps between kernel taps")
                mode = st.selectbox("Padding mode", MODES, key="pm", bind="query-params",
                                    help="what the padding cells contain")  # fmt: skip
                bias = st.slider("Bias", -2.0, 2.0, 0.0, 0.05, key="b", bind="query-params",
                                 help="added to every output value")  # fmt: skip
        with act_col:
            act = st.selectbox("Activation", list(ACTIVATIONS), format_func=ACTIVATIONS.get,
                               index=1, key="act", bind="query-params")  # fmt: skip
            slope = 0.01
            if act == "leaky_relu":
                slope = st.slider("Negative slope", 0.0, 0.5, 0.1, 0.01, key="slope",
                                  bind="query-params")  # fmt: skip
        with pool_col:
            pool = st.segmented_control("Pooling", list(POOLS), format_func=POOLS.get,
                                        default="max", required=True, key="pool",
                                        bind="query-params")  # fmt: skip
            pool_k = pool_s = 2
            if pool != "none":
                pool_k = st.slider("Pool size", 1, 8, 2, key="pool_k", bind="query-params")
                pool_s = st.slider("Pool stride", 1, 8, 2, key="pool_s", bind="query-params")
    return Settings(filters, channels, weights, stride, padding, mode, dilation, float(bias),
                    act, float(slope), pool, pool_k, pool_s)  # fmt: skip


def apply(keys: dict[str, str], square: bool):
    def callback(fix: Fix) -> None:
        for name, value in fix.changes:
            key = keys[name]
            if key is None:
                continue
            if name == "padding":
                st.session_state["pk"] = "number"
            targets = [key] if square or name not in CONV_KEYS or name == "padding_mode" else (
                {"height": [key], "width": [f"{key}_w"]}.get(fix.axis, [key, f"{key}_w"])
            )  # fmt: skip
            for t in targets:
                st.session_state[t] = value

    return callback


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
    st.write("Slide a kernel over a picture. Every map below is computed here, now, by the code "
             "you can open at the bottom; click a pixel of the feature map to see its sum.")  # fmt: skip
    top = st.container(horizontal=True, horizontal_alignment="right")
    with settings_box():  # the sidebar; one expander in presentation mode
        image, name, filters, channels, weights, view = controls()
    layer(image, name, filters, channels, weights, view)
    with top:
        share_link(lazy=True)


@maps.fragment
def layer(image: np.ndarray, name: str, filters: tuple, channels: str, weights: tuple,
          view: dict) -> None:  # fmt: skip
    """The layer's settings and everything they change: a fragment, so a stride or padding move
    reruns only this, not the sidebar's picture and kernel pickers."""
    s = layer_controls(filters, channels, weights)
    square = st.session_state.get("sq", True)
    try:
        r = maps.run(image, s)
    except SettingError as err:
        x = playground.as_input(image, s.channels)
        what, keys = "Convolution", CONV_KEYS
        try:
            cnnviz.output_size(x.shape[1:], s.filters[0].shape, s.stride, s.padding,
                               s.dilation, padding_mode=s.padding_mode)  # fmt: skip
            what, keys = "Pooling", POOL_KEYS  # the convolution fits: pooling is the problem
        except SettingError:
            pass
        refuse(err, what, keys, apply(keys, square))
        maps.show_input(x, None, None, view)
        return
    x = r.input
    size_panel(x.shape, r, s)
    maps.explore(r, s, view)
    maps.show_compare(image, s, r, view)
    # Closed expanders and the link popover are drawn only when opened (opening reruns the
    # page): a slider move doesn't rebuild code nobody is reading.
    code = st.expander("Show the code", icon=":material/code:", key="code_open", on_change="rerun")
    if code.open:
        with code:
            st.markdown("**The same layer in PyTorch**")
            st.code("import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n"
                    + playground.torch_code(s, x.shape[0]), language="python")  # fmt: skip
    show_source(cnnviz.conv2d, playground.run, lazy=True)
    maps.downloads(r, s, view, name)
    see_also("pages/step_by_step.py", "pages/pooling.py", "pages/output_size.py")


run_safely(page, url_labels={"ch": CHANNEL_MODES.get, "pool": POOLS.get, "act": ACTIVATIONS.get,
                             "src": SOURCES.get, "kernel": kernel_label})  # fmt: skip
