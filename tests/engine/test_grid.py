"""The HTML grids (cnnviz.figures.grid): every label is written in its cell and read back the
same, marks sit over the cells they name, and a grid never grows past its own size."""

import re

import numpy as np

from cnnviz.figures.grid import GAP, CellGrid, Mark, grid_html, read_labels
from cnnviz.figures.walk import cells_figure


def _grid(labels, **kw) -> CellGrid:
    labels = np.array(labels, dtype=str)
    return CellGrid(labels=labels, fills=np.full(labels.shape, "#ffffff"), **kw)


def test_labels_round_trip_with_characters_html_would_read():
    labels = [["1", "<b>", "a & b"], ["−0.5", "", "1e+03"]]
    text = grid_html(_grid(labels), "g")
    assert "&lt;b&gt;" in text and "a &amp; b" in text  # written as text, not read as HTML
    assert read_labels(text).tolist() == labels
    assert 'data-grid="g"' in text


def test_marks_span_the_cells_they_name_and_rings_are_round():
    g = _grid(
        [["0"] * 4] * 3, marks=(Mark(0, 1, 1, 2, "#123456"), Mark(2, 3, 2, 3, "red", ring=True))
    )
    text = grid_html(g)
    areas = re.findall(r'<div data-mark style="grid-area:(\d+)/(\d+)/(\d+)/(\d+);', text)
    # CSS grid lines count from 1 and the end line is past the last cell
    assert areas == [("1", "2", "3", "4"), ("3", "4", "4", "5")]
    marks = text.split("<div data-mark")[1:]
    assert "border-radius:50%" in marks[1] and "border-radius" not in marks[0]


def test_light_cells_are_white_and_bold_and_only_they():
    light = np.array([[True, False]])
    text = grid_html(_grid([["9", "1"]], light=light))
    cells = re.findall(r'<div data-r="0" data-c="(\d)" style="([^"]*)">', text)
    styles = dict(cells)
    assert "color:white" in styles["0"] and "color:white" not in styles["1"]


def test_a_grid_is_never_wider_than_its_own_size_and_shrinks_in_a_narrow_column():
    g = _grid([["1"] * 5] * 2, px=30)
    assert g.width == 5 * 30 + 6 * GAP
    text = grid_html(g)
    assert f"max-width:{g.width}px" in text and "cqw" in text


def test_an_empty_grid_keeps_its_title():
    text = grid_html(_grid(np.empty((0, 0)), title="Output<br>none yet"))
    assert "Output<br>none yet" in text and read_labels(text).shape == (0, 0)


def test_walk_cells_carry_their_kinds_colours():
    from cnnviz.render.cells import COLORS

    kinds = np.array([["input", "winner"]])
    g = cells_figure(np.array([["1", "2"]]), kinds, "t", [(0, 0, 0, 1)])
    assert g.fills.tolist() == [[COLORS["input"], COLORS["winner"]]]
    assert g.light.tolist() == [[False, True]]
    assert (g.marks[0].top, g.marks[0].left, g.marks[0].bottom, g.marks[0].right) == (0, 0, 0, 1)


def test_pooling_outlines_every_window_and_rings_each_winner():
    import cnnviz
    from cnnviz.figures.pooling import pool_input_figure, pool_output_figure
    from cnnviz.numbers import fmt

    g = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], np.float32)
    mx, win = cnnviz.max_pool2d(g[None], kernel_size=2, stride=2, return_indices=True)
    fig = pool_input_figure(g, 2, 2, 0, (2, 2), win[0])
    windows = [(m.top, m.left, m.bottom, m.right) for m in fig.marks if not m.ring]
    assert windows == [(0, 0, 1, 1), (0, 2, 1, 3), (2, 0, 3, 1), (2, 2, 3, 3)]
    rings = [m for m in fig.marks if m.ring]
    assert [fig.labels[m.top, m.left] for m in rings] == [fmt(v) for v in mx[0].ravel()]
    out = pool_output_figure(mx[0], "Max pool")
    assert out.labels.tolist() == [["6", "5"], ["3", "4"]]
    assert len(set(out.fills.ravel())) == 4  # each window's own colour
    # white numbers only where they read better than black (WCAG): on the dark blue
    assert out.light.tolist() == [[True, False], [False, False]]


def test_pooling_marks_padding_and_the_cells_ceil_mode_hangs_over():
    from cnnviz.figures.pooling import OVERHANG_MARK, pool_input_figure

    g = np.arange(9, dtype=np.float32).reshape(3, 3)
    fig = pool_input_figure(g, 2, 2, 1, (3, 3))  # ceil_mode: a third window past the end
    assert fig.labels.shape == (6, 6)
    assert fig.labels[0, 0] == "pad" and fig.labels[1, 1] == "0" and fig.labels[4, 4] == "pad"
    assert set(fig.labels[5]) == {OVERHANG_MARK} and set(fig.labels[:, 5]) == {OVERHANG_MARK}
    assert fig.fills[0, 0] == "#ffffff" and fig.fills[1, 1] != "#ffffff"
