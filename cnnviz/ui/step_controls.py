"""The Step by step page's settings: what slides (mode), its numbers and the grids, all bound to
the URL; the link's values it cannot use get notes; a refusal's fixes map back onto its widgets."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import walks
from cnnviz.kernels import KernelError, format_kernel, parse_kernel
from cnnviz.shapes import SettingError
from cnnviz.ui import links
from cnnviz.ui.grid_editor import grid_box
from cnnviz.ui.links import hideable
from cnnviz.ui.params import choice, fix_setter, usable_fixes
from cnnviz.ui.present import presentation_mode
from cnnviz.ui.sizes import (
    CEIL_HELP,
    CEIL_LABEL,
    OUTPUT_PADDING_HELP,
    PADDING_KIND_HELP,
    PADDING_KINDS,
)
from cnnviz.walks.grids import stack_channels

MODES = {
    "conv": "Convolution",
    "max_pool": "Max pool",
    "avg_pool": "Average pool",
    "conv_transpose": "Transposed conv",
}
POOLS = ("max_pool", "avg_pool")
VIEWS = {"stamps": "Stamps", "conv": "Convolution over the zero-inserted input"}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
MAX_INPUT, MAX_KERNEL, MAX_CHANNELS = 12, 5, 3
# The default: small enough to check by hand (the classic 5×5 example with an X-shaped kernel).
DEFAULT_INPUT = (
    "1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0",
    "0 1 0 1 0; 1 0 1 0 1; 0 1 0 1 0; 1 0 1 0 1; 0 1 0 1 0",
    "2 0 0 0 2; 0 2 0 2 0; 0 0 2 0 0; 0 2 0 2 0; 2 0 0 0 2",
)
DEFAULT_KERNEL = ("1 0 1; 0 1 0; 1 0 1", "0 1 0; 1 0 1; 0 1 0", "1 1 1; 0 0 0; -1 -1 -1")
# The link's values this page explains itself (see `link_notes`): numbers, choices, grids.
NUMBER_KEYS = ("ch", "b", "s", "p", "d", "pool_k", "pool_s", "opad")
CHOICE_KEYS = {
    "mode": tuple(MODES.values()),
    "pk": PADDING_KINDS,
    "pm": PADDING_MODES,
    "view": tuple(VIEWS.values()),
}
GRID_KEYS = tuple(f"{g}{i}" for g in "xk" for i in range(MAX_CHANNELS))
OWN_LINK_NOTES = (*NUMBER_KEYS, *CHOICE_KEYS, *GRID_KEYS)
# engine name -> widget key, for the fixes of a refusal
KEYS = {
    "padding": "p",
    "stride": "s",
    "dilation": "d",
    "output_padding": "opad",
    "padding_mode": "pm",
}
POOL_KEYS = {**KEYS, "stride": "pool_s", "kernel_size": "pool_k"}


# ---------------------------------------------------------------------------------- grids


def randomize() -> None:
    """Button callback: new random small integers in every grid (same sizes)."""
    rng = np.random.default_rng()
    for i in range(MAX_CHANNELS):
        for key, default, lo, hi in (
            (f"x{i}", DEFAULT_INPUT[i], 0, 5),
            (f"k{i}", DEFAULT_KERNEL[i], -2, 2),
        ):
            try:
                shape = parse_kernel(st.session_state.get(key, default), max_size=MAX_INPUT).shape
            except KernelError:
                shape = parse_kernel(default).shape
            st.session_state[key] = format_kernel(rng.integers(lo, hi + 1, shape))


def reset_grids() -> None:
    for i in range(MAX_CHANNELS):
        st.session_state[f"x{i}"] = DEFAULT_INPUT[i]
        st.session_state[f"k{i}"] = DEFAULT_KERNEL[i]


def grids(s: dict, uses_kernel: bool) -> None:
    """The input grids (and kernel slices), one per channel, as text (and tables)."""
    c = int(s["channels"])
    table = st.toggle(
        "Edit the grids in tables",
        False,
        key="tables",
        bind="query-params",
        help="a table under each text box; either one can be edited",
    )
    cols = st.columns(2 * c if uses_kernel else c)
    xs, ks = [], []
    for i in range(c):
        with cols[(2 if uses_kernel else 1) * i]:
            name = f"Input channel {i + 1}" if c > 1 else "Input"
            xs.append(grid_box(name, f"x{i}", DEFAULT_INPUT[i], MAX_INPUT, table))
        if uses_kernel:
            with cols[2 * i + 1]:
                kname = f"Kernel slice {i + 1}" if c > 1 else "Kernel"
                ks.append(grid_box(kname, f"k{i}", DEFAULT_KERNEL[i], MAX_KERNEL, table))
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Random numbers", key="random", on_click=randomize, icon=":material/casino:")
        st.button(
            "Back to the example", key="reset", on_click=reset_grids, icon=":material/restart_alt:"
        )
        st.caption(
            f"Grids up to {MAX_INPUT}×{MAX_INPUT}, kernels up to {MAX_KERNEL}×{MAX_KERNEL}:"
            " numbers separated by spaces, rows by ';' or new lines."
        )
    s["input"] = stack_channels(xs, "input grid")
    s["weight"] = stack_channels(ks, "kernel slice") if uses_kernel else None


# -------------------------------------------------------------------------------- numbers


def _number(key: str, name: str, label: str, lo, hi, default, help: str | None = None):
    return hideable(
        key,
        name,
        lambda: st.number_input(label, lo, hi, default, key=key, bind="query-params", help=help),
    )


def _toggle(key: str, name: str, label: str, default: bool, help: str | None = None) -> bool:
    return hideable(
        key, name, lambda: st.toggle(label, default, key=key, bind="query-params", help=help)
    )


def numbers(s: dict, mode: str) -> None:
    """The numbers of the operation, in one row (those this mode has)."""
    row = iter(st.columns(7))
    with next(row):
        s["channels"] = _number("ch", "input channels", "Input channels", 1, MAX_CHANNELS, 1)
    if mode in POOLS:
        with next(row):
            s["kernel_size"] = _number("pool_k", "window size", "Window size", 1, MAX_KERNEL, 2)
        with next(row):
            help = "PyTorch's default is the window size"
            s["stride"] = _number("pool_s", "stride", "Stride", 1, 5, 2, help)
    else:
        with next(row):
            s["stride"] = _number(
                "s", "stride", "Stride", 1, 5, 1, "how far the window moves each step"
            )
    kind = "number"
    if mode == "conv":
        with next(row):
            kind = hideable(
                "pk",
                "padding",
                lambda: st.selectbox(
                    "Padding", PADDING_KINDS, key="pk", bind="query-params", help=PADDING_KIND_HELP
                ),
            )
    if kind == "number":
        with next(row):
            label = "Padding" if mode != "conv" else "Padding cells"
            s["padding"] = _number("p", "padding", label, 0, 4, 0, "cells added on each side")
    else:
        s["padding"] = kind
    if mode != "avg_pool":
        with next(row):
            s["dilation"] = _number(
                "d", "dilation", "Dilation", 1, 4, 1, "spacing between kernel taps"
            )
    if mode == "conv":
        with next(row):
            s["padding_mode"] = hideable(
                "pm",
                "padding mode",
                lambda: st.selectbox(
                    "Padding mode",
                    PADDING_MODES,
                    key="pm",
                    bind="query-params",
                    help="what the padding frame holds",
                ),
            )
    if mode == "conv_transpose":
        with next(row):
            s["output_padding"] = _number(
                "opad", "output padding", "Output padding", 0, 3, 0, OUTPUT_PADDING_HELP
            )
    if mode in ("conv", "conv_transpose"):
        with next(row):
            help = "added once, after the channels' sums"
            s["bias"] = _number("b", "bias", "Bias", -99, 99, 0, help)
    if mode in POOLS:
        with st.container(horizontal=True):
            s["ceil_mode"] = _toggle("ceil", "ceil_mode", CEIL_LABEL, False, CEIL_HELP)
            if mode == "avg_pool":
                s["count_include_pad"] = _toggle(
                    "cip",
                    "count_include_pad",
                    "count_include_pad (padding counts in the divisor)",
                    True,
                )


def controls() -> dict:
    """Every setting of the page: mode, numbers, grids (SettingError if the grids disagree)."""
    s: dict = {}
    s["mode"] = mode = hideable(
        "mode",
        "operation",
        lambda: choice("What slides over the grid", MODES, "conv", "mode"),
        fmt=lambda m: MODES[m].lower(),
    )
    # presentation mode: the page already wraps all settings in one expander (none nested)
    box = (
        st.container()
        if presentation_mode()
        else st.expander("Grids and settings", expanded=True, icon=":material/tune:")
    )
    with box:
        numbers(s, mode)
        grids(s, mode in ("conv", "conv_transpose"))
    return s


def read_link() -> dict[str, str | None]:
    """Before the widgets: the link's numbers as given, and a note for each unknown choice."""
    links.choice_notes(CHOICE_KEYS)
    return {k: st.query_params.get(k) for k in NUMBER_KEYS}


# ----------------------------------------------------------------------- the walk, refusals


def walk_args(s: dict) -> dict:
    """The settings as `walks.make_walk` / `walks.walk_size` keywords."""
    return dict(
        kernel_size=s.get("kernel_size") if s["mode"] in POOLS else s["weight"].shape[-2:],
        stride=s["stride"],
        padding=s["padding"],
        dilation=s.get("dilation", 1),
        padding_mode=s.get("padding_mode", "zeros"),
        output_padding=s.get("output_padding", 0),
        ceil_mode=s.get("ceil_mode", False),
    )


def make_walk(s: dict):
    """The walk these settings describe (SettingError, with fixes, when they cannot work)."""
    args = walk_args(s)
    if s["mode"] not in POOLS:
        del args["kernel_size"]  # the kernel's own shape
    return walks.make_walk(
        s["mode"],
        s["input"],
        s["weight"],
        (s.get("bias") or None),
        count_include_pad=s.get("count_include_pad", True),
        **args,
    )


def fix_keys(mode: str) -> dict[str, str]:
    return POOL_KEYS if mode in POOLS else KEYS


def apply_fix(fix) -> None:
    """Button callback: set the widgets (and so the URL) to a fix the engine offered."""
    fix_setter(fix_keys(st.session_state.get("mode", "conv")), kind_key="pk")(fix)


def usable(err: SettingError, mode: str) -> SettingError:
    """The same refusal, keeping only the fixes this page can apply with a button."""
    return SettingError(str(err), usable_fixes(err.fixes, fix_keys(mode)), err.op)
