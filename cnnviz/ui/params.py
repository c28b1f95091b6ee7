"""Controls bound to the URL that several pages share: a height/width pair, a fix the engine
offered set into the widgets, and composite state (a grid as text) kept in the URL."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import streamlit as st

from cnnviz.shapes import Fix
from cnnviz.ui import links

WIDTH = "_w"  # a pair control's width widget: its key + "_w"


def pair_input(
    label: str,
    key: str,
    lo: int,
    hi: int,
    default: int,
    same: bool,
    help: str,
    slider: bool = False,
) -> tuple[int, int]:
    """One number for both dimensions, or a height (`key`) and a width (`key_w`); bound to the
    URL. A number box, or with `slider` a slider."""
    widget = st.slider if slider else st.number_input
    if same:
        v = widget(label, lo, hi, default, key=key, bind="query-params", help=help)
        return v, v
    marks = (" ↕", " ↔") if slider else (" (height)", " (width)")
    values = []
    for col, mark, k in zip(st.columns(2), marks, (key, key + WIDTH)):
        with col:
            values.append(
                widget(label + mark, lo, hi, default, key=k, bind="query-params", help=help)
            )
    return values[0], values[1]


def choice(
    label: str, options: dict | tuple, default: str, key: str, help: str | None = None
) -> str:
    """One of a few options as a row of buttons, bound to the URL; `options` a tuple, or a dict
    of option -> the label shown (and written in the URL)."""
    return st.segmented_control(
        label,
        list(options),
        format_func=options.get if isinstance(options, dict) else str,
        default=default,
        required=True,
        key=key,
        bind="query-params",
        help=help,
    )


def usable_fixes(fixes, keys) -> list:
    """The fixes a page can apply with a button: each change is a setting it has (`keys`)."""
    return [f for f in fixes if f.changes and all(n in keys for n, _ in f.changes)]


def fix_setter(
    keys: dict[str, str | None],
    kind_key: str | None = None,
    square_key: str | None = None,
    pairs: Iterable[str] = (),
) -> Callable:
    """A button callback that sets the widgets (and so the URL) to a fix the engine offered
    (`shapes.Fix`, or a `playground.ChainFix`).

    `keys`: engine name -> widget key (None or absent: a setting the page keeps as it is).
    `kind_key`: the padding-kind control, set to "number" by a padding fix. `pairs`: keys of
    `pair_input` controls, whose "same for both" toggle is `square_key`: a (height, width) value
    sets both (parting them if they differ), a single number its fix's axis, or both.
    """
    pairs = tuple(pairs)

    def apply(fix) -> None:
        axis = fix.axis if isinstance(fix, Fix) else ""
        for name, value in fix.changes:
            key = keys.get(name)
            if key is None:
                continue
            if name == "padding" and kind_key:
                st.session_state[kind_key] = "number"
            if key not in pairs:
                st.session_state[key] = value
            elif isinstance(value, tuple):
                _set_pair(key, value, square_key, pairs)
            else:
                _set_axis(key, value, axis, square_key)

    return apply


def _square(square_key: str | None) -> bool:
    return square_key is None or bool(st.session_state.get(square_key, True))


def _set_pair(key: str, value: tuple, square_key: str | None, pairs: tuple[str, ...]) -> None:
    ss = st.session_state
    h, w = value
    if _square(square_key):
        if h == w:
            ss[key] = h
            return
        ss[square_key] = False  # height and width get their own controls,
        for k in pairs:  # the width keeping what both had
            if k in ss:
                ss[k + WIDTH] = ss[k]
    ss[key], ss[key + WIDTH] = h, w


def _set_axis(key: str, value, axis: str, square_key: str | None) -> None:
    if _square(square_key):
        targets = [key]
    else:
        targets = {"height": [key], "width": [key + WIDTH]}.get(axis, [key, key + WIDTH])
    for target in targets:
        st.session_state[target] = value


def index_in(raw: str | None, shape) -> tuple[int, ...] | None:
    """A place a link writes as dash-joined whole numbers ("0-5-7"), one per dimension of
    `shape` and inside it (Convolution's clicked pixel, Explore's unit); None for anything
    else (int() also refuses 5,000 digits)."""
    try:
        index = tuple(int(v) for v in (raw or "").split("-"))
    except ValueError:
        return None
    inside = len(index) == len(shape) and all(0 <= i < n for i, n in zip(index, shape))
    return index if inside else None


def sync_url(key: str, value: str | None) -> None:
    """Composite state (a grid, a token, a flag) written to the URL as text; None (the
    default) takes the parameter out of the link."""
    if value is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def grid_from_link(
    state_key: str, url_key: str, default: str, max_size: int, what: str
) -> np.ndarray:
    """A number grid kept as text: this session's, else the link's (`?url_key=`), else
    `default`. A link that cannot be read gives a note and the default, never an error."""
    from cnnviz.kernels import KernelError, format_kernel, parse_kernel

    text = st.session_state.get(state_key) or st.query_params.get(url_key) or default
    try:
        grid = parse_kernel(text, max_size=max_size)
    except KernelError as err:
        links.note(f"The {what} in the link could not be read ({err}), so the default is shown.")
        grid = parse_kernel(default, max_size=max_size)
    st.session_state[state_key] = format_kernel(grid)
    return grid
