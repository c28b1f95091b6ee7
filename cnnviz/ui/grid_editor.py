"""Grids of numbers the user edits: as a table (st.data_editor) or as text bound to the URL.

One rule for every table: a cell left empty, or holding no ordinary number, keeps its old value,
and a caption under the table says so. Text that cannot be read falls back to the default with
a link note (`links.note`), never an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import streamlit as st

from cnnviz.kernels import KernelError, format_kernel, parse_kernel
from cnnviz.ui import links

TEXT_HELP = "Numbers separated by spaces, rows by ';' or new lines."


def _number(v) -> float | None:
    """A table cell's value as a float, or None when it is no ordinary number."""
    try:
        value = float(v) if v is not None else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and np.isfinite(value) else None


def apply_edits(grid: np.ndarray, edited_rows: dict) -> np.ndarray:
    """The grid with st.data_editor's `edited_rows` ({row: {column: value}}) applied; a cleared
    or unreadable cell keeps its old value."""
    out = np.array(grid, dtype=np.float32, copy=True)
    for r, cols in (edited_rows or {}).items():
        for c, v in cols.items():
            value = _number(v)
            if value is not None:
                out[int(r), int(c)] = value
    return out


def refused_cells(edited_rows: dict) -> int:
    """How many of the edited cells held no ordinary number (and kept their old value)."""
    return sum(_number(v) is None for cols in (edited_rows or {}).values() for v in cols.values())


def _refused_key(key: str) -> str:
    return f"{key}_refused"


def _edited(grid: np.ndarray, key: str, note_key: str, on_edit: Callable) -> None:
    """on_change: the grid with the table's edits becomes `on_edit(new_grid)`'s to keep."""
    edits = st.session_state[key].get("edited_rows", {})
    if n := refused_cells(edits):
        st.session_state[_refused_key(note_key)] = n
    on_edit(apply_edits(grid, edits))


def edit_grid(
    grid: np.ndarray,
    key: str,
    on_edit: Callable[[np.ndarray], None],
    note_key: str | None = None,
    width: str = "stretch",
    column_config: dict | None = None,
) -> None:
    """A table of `grid`; an edit calls `on_edit(new_grid)` (a callback: before the rerun).
    `note_key` (default `key`) names the refused-cell caption, for callers whose table key
    changes with each edit."""
    note_key = note_key or key
    st.data_editor(
        grid,
        key=key,
        on_change=_edited,
        args=(grid, key, note_key, on_edit),
        hide_index=True,
        width=width,
        column_config=column_config,
    )
    if n := st.session_state.pop(_refused_key(note_key), 0):
        st.caption(
            f"{n} edited cell{'s' * (n > 1)} held no number and kept {'their' if n > 1 else 'its'}"
            " old value."
        )


def _set_text(text_key: str, grid: np.ndarray) -> None:
    st.session_state[text_key] = format_kernel(grid)


def grid_table(text_key: str, grid: np.ndarray) -> None:
    """A table under a grid's text box: a cell edited here rewrites the text (and so the URL).
    Its key carries the text's digest, so each new text gets a fresh table."""
    digest = hashlib.sha1(format_kernel(grid).encode()).hexdigest()[:10]
    edit_grid(
        grid,
        f"table_{text_key}_{digest}",
        lambda g: _set_text(text_key, g),
        note_key=f"table_{text_key}",
        width="content",
        column_config={
            str(c): st.column_config.NumberColumn(str(c), width=44) for c in range(grid.shape[1])
        },
    )


def grid_box(
    label: str, key: str, default: str, max_size: int, table: bool = False, height: int = 92
) -> np.ndarray:
    """A text box for one grid (rows separated by ';' or new lines), bound to the URL; text
    that cannot be read falls back to the default, with a note saying why. `table`: an
    editable table under it too."""
    text = st.text_area(label, default, key=key, bind="query-params", height=height, help=TEXT_HELP)
    try:
        grid = parse_kernel(text, max_size=max_size)
    except KernelError as err:
        why = str(err) if "Kernel" in label else str(err).replace("kernel", "grid")
        links.note(f"{label} could not be read ({why}) Using the default instead.")
        grid = parse_kernel(default, max_size=max_size)
    if table:
        grid_table(key, grid)
    return grid
