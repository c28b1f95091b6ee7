"""The walks' pure pieces: the output size of a walk, the words around its numbers, the channels
stacked into an input, the failing op a refusal names, numbers as a student writes them."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnviz import explain, walks
from cnnviz.numbers import fmt, term
from cnnviz.shapes import SettingError, output_size
from cnnviz.walks import INSERTED, OVERHANG, PADDING
from cnnviz.walks.grids import stack_channels, step_cell, taps


@given(
    mode=st.sampled_from(list(walks.MODES)),
    h=st.integers(2, 7),
    w=st.integers(2, 7),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 1),
    d=st.integers(1, 2),
    ceil=st.booleans(),
)
def test_walk_size_is_the_size_of_the_walk(mode, h, w, k, s, p, d, ceil):
    x = np.arange(h * w, dtype=np.float32).reshape(1, h, w)
    weight = np.ones((1, k, k), np.float32)
    d = 1 if mode == "avg_pool" else d
    args = dict(stride=s, padding=p, dilation=d, ceil_mode=ceil)
    try:
        size = walks.walk_size(mode, (h, w), (k, k), **args)
    except SettingError:
        with pytest.raises(SettingError):
            walks.make_walk(mode, x, weight, kernel_size=k, **args)
        return
    walk = walks.make_walk(mode, x, weight, kernel_size=k, **args)
    assert walk.output.shape[-2:] == size.size


def test_an_unknown_mode_is_refused_by_both():
    with pytest.raises(SettingError, match="unknown"):
        walks.make_walk("sum_pool", np.ones((1, 3, 3)))
    with pytest.raises(SettingError, match="unknown"):
        walks.walk_size("sum_pool", (3, 3), 2)


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda: output_size(3, 5), "conv"),
        (lambda: output_size(4, 2, 2, 2, op="pool"), "pool"),
        (lambda: output_size(4, 3, stride=0), "conv"),
        (lambda: output_size(2, 3, 1, 3, op="conv_transpose"), "conv_transpose"),
        (lambda: output_size((3, 5), (5, 2), op="pool"), "pool"),
        (lambda: walks.pool_walk(np.ones((1, 4, 4)), "avg", 2, dilation=2), "pool"),
        (lambda: walks.conv_walk(np.ones((1, 2, 2)), np.ones((1, 3, 3))), "conv"),
    ],
)
def test_a_refusal_names_the_op_that_failed(call, op):
    with pytest.raises(SettingError) as info:
        call()
    assert info.value.op == op


def test_a_refusal_for_both_dimensions_keeps_its_op_and_fixes():
    with pytest.raises(SettingError) as info:
        output_size(3, 5, op="pool")
    assert str(info.value).startswith("height and width: ")
    assert info.value.op == "pool" and info.value.fixes


def test_a_refusal_of_no_layer_names_no_op():
    assert SettingError("The grids must hold ordinary numbers.").op == ""
    with pytest.raises(SettingError) as info:
        walks.conv_walk(np.full((1, 2, 2), np.nan), np.ones((1, 1, 1)))
    assert info.value.op == ""


def test_size_lines_say_both_dimensions_at_once_when_they_agree():
    square = explain.size_lines(output_size(5, 3))
    assert len(square) == 1 and square[0].startswith("height and width: `")
    assert "= 3`" in square[0]
    apart = explain.size_lines(output_size((5, 6), 3))
    assert [line.split(":")[0] for line in apart] == ["height", "width"]


def test_channel_text_follows_the_mode():
    conv = explain.channel_text("conv", 3, (2, 2), True)
    assert "3×2×2" in conv and "one 2×2 kernel slice per input channel" in conv
    assert "3 channels in" in explain.channel_text("max_pool", 3, None, True)
    assert "1 channel in" in explain.channel_text("avg_pool", 1, None, True)
    assert "padding cells included" in explain.channel_text("avg_pool", 1, None, True)
    assert "input cells only" in explain.channel_text("avg_pool", 1, None, False)
    assert "the 2 channels' stamps" in explain.channel_text("conv_transpose", 2, (2, 2), True)


def test_legend_words_name_only_the_cells_the_grid_has():
    assert explain.legend_words("conv", {0}, (1, 1), "zeros") == [
        "orange: the window's taps, outlined"
    ]
    words = " · ".join(
        explain.legend_words("conv", {0, PADDING, INSERTED, OVERHANG}, (2, 1), "reflect")
    )
    assert "grey: padding (the input mirrored at its edge)" in words
    assert "zeros inserted" in words and "ceil_mode" in words and "dilation" in words
    assert "−∞" in explain.legend_words("max_pool", {PADDING}, (1, 1), "zeros")[1]


def test_the_cell_lines_are_the_walks_numbers():
    walk = walks.conv_walk(np.arange(1.0, 10.0).reshape(1, 3, 3), np.ones((1, 2, 2)))
    step = walk.step(3)
    text = explain.cell_text(3, walk.n_steps, step.row, step.col, step.values)
    assert text == "Step 4 of 4: output cell (row 1, column 1) = <b>28</b>"
    scatter = walks.transpose_walk(np.array([[[1.0, -2.0]]]), np.ones((1, 2, 2)))
    line = explain.stamp_cell_text(1, scatter, scatter.step(1))
    assert line == "Step 2 of 2: input cell (row 0, column 1) = <b>-2</b> stamps its kernel"


def test_stack_channels_needs_one_size():
    a, b = np.ones((2, 2)), np.zeros((2, 3))
    assert stack_channels([a, a], "input grid").shape == (2, 2, 2)
    with pytest.raises(SettingError, match=r"channel 1: 2×2, channel 2: 2×3"):
        stack_channels([a, b], "kernel slice")


def test_steps_go_row_by_row_and_taps_are_spaced_by_dilation():
    assert step_cell(4, 6, 3) == (1, 1)
    with pytest.raises(SettingError, match="step 7 does not exist"):
        step_cell(6, 6, 3)
    assert taps(2, 3, 2, 3).tolist() == [6, 8, 10]


def test_numbers_as_a_student_writes_them():
    assert [fmt(v) for v in (3.0, -0.5, 1 / 3, -np.inf, np.nan, -0.0)] == [
        "3",
        "-0.5",
        "0.333",
        "-∞",
        "",
        "0",
    ]
    assert term(-1) == "(-1)" and term(2) == "2"
