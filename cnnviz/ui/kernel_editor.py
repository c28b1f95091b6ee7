"""Kernel controls: a preset, a random kernel, or the user's own numbers in an editable grid.

URL: `kernel` (preset name, "random" or "custom"), `kh`/`kw`/`seed` for random kernels, `kt` for
the custom numbers as text ("1 0 -1; 2 0 -2; 1 0 -1"), `norm` to divide by the sum. A kernel in a
shared link that cannot be read falls back to the default with a note.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.kernels import (
    PRESETS,
    KernelError,
    format_kernel,
    normalize_kernel,
    parse_kernel,
    preset,
    random_kernel,
)
from cnnviz.ui.grid_editor import edit_grid
from cnnviz.ui.params import grid_from_link, sync_url

MAX_SIDE = 11
DEFAULT = "sobel_x"
OPTIONS = (*PRESETS, "random", "custom")


def label(name: str) -> str:
    """The name shown and written in the URL (a bound selectbox stores what it shows)."""
    return {"random": "random", "custom": "my own"}.get(name, name.replace("_", " "))


def _version() -> int:
    return st.session_state.setdefault("kernel_version", 0)


def _set_custom(k: np.ndarray) -> None:
    st.session_state["kt"] = format_kernel(k)
    st.session_state["kernel"] = "custom"
    st.session_state["kernel_version"] = _version() + 1


def _typed(base: np.ndarray, key: str) -> None:
    try:
        _set_custom(parse_kernel(st.session_state[key], max_size=MAX_SIDE))
    except KernelError as err:
        st.session_state["kernel_typing_error"] = str(err)


def _resized(base: np.ndarray, rows_key: str, cols_key: str) -> None:
    """Grow with zeros or crop, keeping the centre where it is."""
    rows, cols = st.session_state[rows_key], st.session_state[cols_key]
    out = np.zeros((rows, cols), np.float32)
    h, w = base.shape
    r0, c0 = (rows - h) // 2, (cols - w) // 2
    src = base[max(0, -r0) : max(0, -r0) + min(h, rows), max(0, -c0) : max(0, -c0) + min(w, cols)]
    out[max(0, r0) : max(0, r0) + src.shape[0], max(0, c0) : max(0, c0) + src.shape[1]] = src
    _set_custom(out)


def _custom_from_url() -> np.ndarray:
    return grid_from_link("kt", "kt", format_kernel(preset(DEFAULT)), MAX_SIDE, "kernel")


def edit_kernel() -> np.ndarray:
    """The kernel the user chose (float32, 1..11 per side)."""
    choice = st.selectbox(
        "Kernel",
        OPTIONS,
        index=OPTIONS.index(DEFAULT),
        key="kernel",
        format_func=label,
        bind="query-params",
    )
    if choice == "random":
        a, b, c = st.columns(3)
        kh = a.number_input("Rows", 1, MAX_SIDE, 3, key="kh", bind="query-params")
        kw = b.number_input("Columns", 1, MAX_SIDE, 3, key="kw", bind="query-params")
        seed = c.number_input(
            "Seed",
            0,
            10**6,
            0,
            key="seed",
            bind="query-params",
            help="The same seed gives the same numbers.",
        )
        k = random_kernel(int(kh), int(kw), int(seed))
        st.caption("Uniform in ±1/√(rows·columns): how PyTorch starts a new layer's weights.")
    elif choice == "custom":
        k = _custom_from_url()
    else:
        k = preset(choice)
        st.caption(f"{k.shape[0]}×{k.shape[1]}. {PRESETS[choice].description}")
    sync_url("kt", st.session_state["kt"] if choice == "custom" else None)
    v = _version()
    edit_grid(  # an edited cell makes the kernel shown the user's own
        k,
        f"kernel_grid_{v}",
        _set_custom,
        note_key="kernel_grid",
        column_config={
            str(i): st.column_config.NumberColumn(str(i), format="%.4g") for i in range(k.shape[1])
        },
    )
    st.caption("Click a number to change it: the kernel becomes your own.")
    more = st.expander(
        "Size and typed numbers", icon=":material/edit:", key="kernel_more", on_change="rerun"
    )
    if more.open:  # drawn only when opened (opening reruns the page): closed, it costs nothing
        with more:
            a, b = st.columns(2)
            rk, ck = f"kernel_rows_{v}", f"kernel_cols_{v}"
            a.number_input(
                "Rows", 1, MAX_SIDE, k.shape[0], key=rk, on_change=_resized, args=(k, rk, ck)
            )
            b.number_input(
                "Columns", 1, MAX_SIDE, k.shape[1], key=ck, on_change=_resized, args=(k, rk, ck)
            )
            tk = f"kernel_text_{v}"
            st.text_area(
                "Numbers (rows separated by ; or new lines)",
                format_kernel(k),
                key=tk,
                on_change=_typed,
                args=(k, tk),
            )
            if err := st.session_state.pop("kernel_typing_error", None):
                st.error(err, icon=":material/error:")
    if st.toggle("Normalise (divide by the sum)", False, key="norm", bind="query-params"):
        n = normalize_kernel(k)
        st.caption(n.reason)
        k = n.array
    return k
