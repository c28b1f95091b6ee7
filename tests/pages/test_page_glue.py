"""The page glue shared by the pages (AppTest): the number-grid table's one edit rule, a fix set
into the widgets (pairs and axes), composite state in the URL, the link notes."""

from streamlit.testing.v1 import AppTest

from cnnviz.kernels import parse_kernel
from cnnviz.ui.grid_editor import apply_edits, refused_cells


def test_a_bad_cell_keeps_its_old_value():
    grid = parse_kernel("1 2; 3 4")
    edits = {0: {"0": 9, "1": None}, "1": {0: "x", 1: float("inf")}}
    assert apply_edits(grid, edits).tolist() == [[9, 2], [3, 4]]
    assert refused_cells(edits) == 3
    assert refused_cells({0: {"0": "2.5"}}) == 0
    assert apply_edits(grid, {0: {"0": "2.5"}})[0, 0] == 2.5


def editor_app():
    """A table whose edit is simulated through the editor's own callback."""
    import streamlit as st

    from cnnviz.kernels import format_kernel, parse_kernel
    from cnnviz.ui import grid_editor

    def keep(g):
        st.session_state["grid"] = format_kernel(g)

    grid = parse_kernel(st.session_state.get("grid", "1 2; 3 4"))
    if edits := st.session_state.pop("simulate", None):
        st.session_state["fake_editor"] = {"edited_rows": edits}
        grid_editor._edited(grid, "fake_editor", "table", keep)
        grid = parse_kernel(st.session_state["grid"])
    grid_editor.edit_grid(grid, "table", keep)
    st.text("GRID " + format_kernel(grid))


def test_the_table_says_when_a_cell_kept_its_value():
    at = AppTest.from_function(editor_app)
    at.run()
    assert not at.caption
    at.session_state["simulate"] = {0: {"1": None}, 1: {"0": 7}}
    at.run()
    assert not at.exception
    assert at.text[-1].value == "GRID 1 2; 7 4"
    assert any("1 edited cell held no number and kept its old value" in c.value for c in at.caption)
    at.run()  # said once, not on every rerun
    assert not at.caption


def fix_app():
    """Pair controls (same numbers for both, or a height and a width) and a fix applied."""
    import streamlit as st

    from cnnviz.shapes import Fix
    from cnnviz.ui.params import fix_setter, pair_input

    square = st.toggle("same", True, key="square")
    pair_input("Stride", "s", 1, 9, 1, square, "")
    pair_input("Padding", "p", 0, 9, 0, square, "")
    st.selectbox("kind", ("number", "same"), key="pad_kind")
    apply = fix_setter(
        {"stride": "s", "padding": "p", "dilation": None},
        kind_key="pad_kind",
        square_key="square",
        pairs=("s", "p"),
    )
    axis, changes = st.session_state.get("fix", ("", ()))
    st.button("apply", key="apply", on_click=apply, args=(Fix("", axis, changes),))


def state(at, *keys):
    return tuple(at.session_state[k] if k in at.session_state else None for k in keys)


def apply(at, axis, *changes):
    at.session_state["fix"] = (axis, changes)
    at.run()
    at.button(key="apply").click().run()
    assert not at.exception, [e.message for e in at.exception]


def test_a_fix_sets_its_axis_or_both_and_parts_a_pair_when_it_must():
    at = AppTest.from_function(fix_app)
    at.run()
    apply(at, "height", ("stride", 3), ("dilation", 2))
    assert state(at, "s", "square") == (3, True)  # one control for both: both change
    at.selectbox(key="pad_kind").set_value("same").run()
    apply(at, "", ("padding", (2, 2)))
    assert state(at, "p", "pad_kind", "square") == (2, "number", True)
    apply(at, "", ("stride", (2, 4)))
    assert state(at, "square", "s", "s_w", "p_w") == (False, 2, 4, 2)  # parted, width kept
    apply(at, "width", ("padding", 1))
    assert state(at, "p", "p_w") == (2, 1)


def url_app():
    import streamlit as st

    from cnnviz.ui.params import sync_url

    sync_url("grid", st.session_state.get("value"))


def test_composite_state_in_the_url_and_out_of_it_when_default():
    at = AppTest.from_function(url_app)
    at.session_state["value"] = "1 2; 3 4"
    at.run()
    assert at.query_params["grid"] == "1 2; 3 4"
    at.session_state["value"] = None
    at.run()
    assert "grid" not in at.query_params


def notes_app():
    import streamlit as st

    from cnnviz.ui import links
    from cnnviz.ui.common import run_safely

    def page():
        links.choice_notes({"mode": ("a", "b")})
        st.number_input("n", 0, 5, 1, key="n", bind="query-params")
        links.note("The grid in the link could not be read.")

    run_safely(page, own_link_notes=("mode",))


def test_link_notes_come_together_at_the_top():
    at = AppTest.from_function(notes_app)
    at.query_params["mode"] = "c"
    at.query_params["n"] = "inf"
    at.run()
    assert not at.exception
    notes = [w.value for w in at.warning]
    assert len(notes) == 3
    assert "could not be used" in notes[0] and "n=inf" in notes[0]
    assert "mode='c' is not one of a, b" in notes[1]
    assert notes[2] == "The grid in the link could not be read."


def test_remember_keeps_the_newest_results_only():
    from cnnviz.ui.common import remember

    store: dict = {}
    for i in range(5):
        remember(store, i, i * i, keep=3)
    assert store == {2: 4, 3: 9, 4: 16}


def test_the_drawing_pads_picture_becomes_ink_and_anything_else_a_sentence():
    import base64
    import io

    import numpy as np
    import pytest
    from PIL import Image

    from cnnviz.ui.sketch import ink_from_data_url

    pad = np.zeros((224, 224), np.uint8)
    pad[40:180, 100:118] = 255  # a white stroke on the black pad
    buf = io.BytesIO()
    Image.fromarray(pad).convert("RGBA").save(buf, "PNG")
    ink = ink_from_data_url("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    assert ink.shape == (224, 224) and ink.dtype == np.float32
    assert ink[100, 110] == 1 and ink[10, 10] == 0
    assert ink_from_data_url(None) is None
    for bad in ("data:image/png;base64,!!!", "data:image/png;base64,AAAA", "hello", 42):
        with pytest.raises(ValueError, match="press Clear and draw again"):
            ink_from_data_url(bad)
