"""Step by step page (AppTest): stepping, every mode, URL state, edge and impossible settings.

Every number read from the page is compared with the engine (cnnviz.conv2d & co.), which the
engine tests compare with torch.
"""

import re

import numpy as np
import pytest
from test_page_pooling import grids  # same folder (tests/ is not a package)

import cnnviz
from cnnviz.figures.grid import read_labels
from cnnviz.kernels import parse_kernel
from cnnviz.numbers import fmt

PAGE = "pages/step_by_step.py"
X = "1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0"
K = "1 0 1; 0 1 0; 1 0 1"


def clean(at) -> None:
    """No exception, no red box, no 'something went wrong'."""
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def cell_text(at) -> str:
    """The 'Step k of n: output cell ... = v' line, without its HTML."""
    texts = [m.value for m in at.markdown if "Step " in m.value and " of " in m.value]
    assert len(texts) == 1, texts
    return re.sub(r"<[^>]+>", "", texts[0])


def cell_value(at) -> str:
    return re.search(r"= (\S+)$", cell_text(at)).group(1)


def chart_labels(at, key: str) -> np.ndarray:
    """The numbers written in the cells of the grid with this key."""
    for body in grids(at):
        if f'data-grid="{key}"' in body:
            return read_labels(body)
    raise AssertionError(f"no grid {key}")


def conv(x=X, k=K, **kw) -> np.ndarray:
    xs = parse_kernel(x)[None]
    return cnnviz.conv2d(xs, parse_kernel(k)[None, None], **kw)[0]


def test_default_example_steps_forward_and_back(open_page):
    at = open_page(PAGE)
    clean(at)
    want = conv()
    assert want.shape == (3, 3)
    assert any("Output 3 × 3" in m.value for m in at.markdown)
    assert cell_text(at).startswith("Step 1 of 9: output cell (row 0, column 0)")
    assert cell_value(at) == fmt(want[0, 0]) == "4"
    # the arithmetic, written out, a student can check by hand
    assert any(
        "1 × 1 + 1 × 0 + 1 × 1" in m.value and m.value.endswith("= 4</div>") for m in at.markdown
    )
    for k in range(1, 9):
        at.button(key="next").click().run()
        clean(at)
        assert cell_value(at) == fmt(want.reshape(-1)[k])
        shown = chart_labels(at, "out_0")
        assert list(shown.reshape(-1)[: k + 1]) == [fmt(v) for v in want.reshape(-1)[: k + 1]]
        assert all(t == "" for t in shown.reshape(-1)[k + 1 :])  # not computed yet: empty
    at.button(key="next").click().run()  # past the end: stays on the last step
    assert cell_text(at).startswith("Step 9 of 9")
    at.button(key="back").click().run()
    assert cell_text(at).startswith("Step 8 of 9") and cell_value(at) == fmt(want[2, 1])
    at.button(key="first").click().run()
    assert cell_text(at).startswith("Step 1 of 9")
    at.button(key="last").click().run()
    assert cell_text(at).startswith("Step 9 of 9")
    assert "One filter spans all input channels and yields one output channel" in (
        " ".join(i.value for i in at.info)
    )


def test_play_and_pause_toggle(open_page):
    at = open_page(PAGE)
    assert at.button(key="play").label == "Play"
    at.button(key="play").click().run()
    clean(at)
    assert at.button(key="play").label == "Pause"
    at.button(key="next").click().run()  # stepping by hand pauses
    assert at.button(key="play").label == "Play"
    assert cell_text(at).startswith("Step 2 of 9")


def test_a_link_opens_at_its_step_with_its_grids(open_page):
    x = "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16"
    at = open_page(PAGE, x0=x, k0="1 -1; 2 0", s="2", b="3", step="3")
    clean(at)
    want = conv(x, "1 -1; 2 0", stride=2) + 3
    assert cell_text(at).startswith("Step 3 of 4")
    assert cell_value(at) == fmt(want[1, 0])
    assert any("bias 3" in m.value for m in at.markdown)


def test_bad_url_values_fall_back_with_a_note(open_page):
    at = open_page(PAGE, x0="1 2; 3", k0="a b", d="99", pm="mirror")
    clean(at)
    notes = " ".join(w.value for w in at.warning)
    assert "pm='mirror' is not one of zeros, reflect" in notes
    assert "Input could not be read" in notes and "Kernel could not be read" in notes
    assert "d='99'" in notes
    assert cell_value(at) == fmt(conv()[0, 0])  # the default example


def test_three_channels_sum_per_channel_then_across(open_page):
    xs = ["1 0 2; 0 1 0; 2 0 1", "0 1 0; 1 1 1; 0 1 0", "3 0 0; 0 3 0; 0 0 3"]
    ks = ["1 1; 1 1", "0 1; 1 0", "-1 0; 0 1"]
    at = open_page(
        PAGE,
        ch="3",
        b="-1",
        step="4",
        **{f"x{i}": xs[i] for i in range(3)},
        **{f"k{i}": ks[i] for i in range(3)},
    )
    clean(at)
    x = np.stack([parse_kernel(t) for t in xs])
    w = np.stack([parse_kernel(t) for t in ks])[None]
    want = cnnviz.conv2d(x, w, np.float32([-1]))[0]
    assert cell_value(at) == fmt(want[1, 1])
    t = cnnviz.trace(x, w, np.float32([-1]), row=1, col=1)
    sums = " + ".join(f"({fmt(c.sum)})" if c.sum < 0 else fmt(c.sum) for c in t.channels)
    assert any(f"output: {sums} + bias -1 = {fmt(t.total)}" in m.value for m in at.markdown)
    assert sum("channel " in m.value and "×" in m.value for m in at.markdown) == 3


@pytest.mark.parametrize("kind", ["Max pool", "Average pool"])
def test_pooling_walks(open_page, kind):
    x = "1 5 2 0; 3 4 8 1; 0 2 6 7; 9 1 3 3"
    at = open_page(PAGE, mode=kind, x0=x, step="2")
    clean(at)
    xs = parse_kernel(x)[None]
    pooled = cnnviz.max_pool2d(xs, 2) if kind == "Max pool" else cnnviz.avg_pool2d(xs, 2)
    assert cell_text(at).startswith("Step 2 of 4")
    assert cell_value(at) == fmt(pooled[0, 0, 1])
    if kind == "Max pool":
        assert any("max(2, 0, 8, 1) = 8" in m.value for m in at.markdown)
    else:
        assert any("(2 + 0 + 8 + 1) / 4 = 11 / 4 = 2.75" in m.value for m in at.markdown)
    assert "each channel on its own" in " ".join(i.value for i in at.info)


def test_avg_pool_count_include_pad_and_ceil_mode(open_page):
    x = "1 2 3; 4 5 6; 7 8 9"
    at = open_page(
        PAGE, mode="Average pool", x0=x, pool_k="2", pool_s="2", p="1", cip="false", ceil="true"
    )
    clean(at)
    want = cnnviz.avg_pool2d(
        parse_kernel(x)[None], 2, 2, 1, ceil_mode=True, count_include_pad=False
    )
    assert cell_text(at).startswith(f"Step 1 of {want[0].size}")
    assert cell_value(at) == fmt(want[0, 0, 0]) == "1"  # 1 / 1: padding not counted


@pytest.mark.parametrize("view", ["Stamps", "Convolution over the zero-inserted input"])
def test_transposed_both_views(open_page, view):
    x, k = "1 2; 3 4", "1 0 -1; 0 1 0; 2 0 1"
    at = open_page(
        PAGE, mode="Transposed conv", x0=x, k0=k, s="2", p="1", opad="1", view=view, b="1"
    )
    clean(at)
    want = cnnviz.conv_transpose2d(
        parse_kernel(x)[None], parse_kernel(k)[None, None], np.float32([1]), 2, 1, 1
    )[0]
    assert any("Both views give the same numbers" in m.value for m in at.markdown)
    at.button(key="last").click().run()
    clean(at)
    shown = chart_labels(at, "out_0")
    assert shown.shape == want.shape
    assert list(shown.reshape(-1)) == [fmt(v) for v in want.reshape(-1)]
    if view == "Stamps":
        assert cell_text(at).startswith("Step 4 of 4: input cell (row 1, column 1) = 4")
    else:
        assert cell_text(at).startswith(f"Step {want.size} of {want.size}")


@pytest.mark.parametrize(
    "params, steps",
    [
        # kernel as big as the padded input: one window, one output cell
        (dict(x0="1 2 3; 4 5 6; 7 8 9", k0="1 1 1 1 1; " * 4 + "1 1 1 1 1", p="1"), 1),
        # stride larger than the kernel: cells between windows are skipped
        (
            dict(
                x0="; ".join(" ".join(str(r * 7 + c) for c in range(7)) for r in range(7)),
                k0="1 2; 3 4",
                s="4",
            ),
            4,
        ),
        # dilation that leaves one output cell
        (dict(k0="1 0 1; 0 1 0; 1 0 1", d="2"), 1),
        # the same for max pooling
        (dict(mode="Max pool", pool_k="3", d="2", pool_s="1"), 1),
    ],
)
def test_edge_settings(open_page, params, steps):
    at = open_page(PAGE, **params)
    clean(at)
    assert re.search(rf"Step 1 of {steps}\b", cell_text(at))
    if steps == 1:
        assert not at.slider  # a single step: no scrubber
        assert any("single step" in c.value for c in at.caption)


def test_stride_larger_than_kernel_values(open_page):
    x = "; ".join(" ".join(str(r * 7 + c) for c in range(7)) for r in range(7))
    at = open_page(PAGE, x0=x, k0="1 2; 3 4", s="4", step="4")
    want = conv(x, "1 2; 3 4", stride=4)
    assert cell_value(at) == fmt(want[1, 1])


def test_impossible_settings_explain_and_offer_a_fix(open_page):
    at = open_page(PAGE, x0="1 2 3; 4 5 6; 7 8 9", k0="1 1 1 1 1; " * 4 + "1 1 1 1 1")
    assert not at.exception
    msg = " ".join(e.value for e in at.error)
    assert "kernel 5 is larger than the padded input 3" in msg
    assert not at.slider  # no walk
    fix = next(b for b in at.button if b.label.startswith("Set padding"))
    fix.click().run()
    clean(at)
    assert at.number_input(key="p").value == 1
    assert cell_text(at).startswith("Step 1 of 1")


@pytest.mark.parametrize(
    "params, words",
    [
        (dict(mode="Max pool", pool_k="2", p="2"), "more than half the window"),
        (dict(mode="Transposed conv", k0="1", p="3", x0="1 2; 3 4"), "crops"),
        (dict(ch="2", x1="1 2; 3 4"), "needs the same size"),
        (dict(pm="reflect", p="2", x0="1 2; 3 4"), "reflect padding"),
    ],
)
def test_other_impossible_settings(open_page, params, words):
    at = open_page(PAGE, **params)
    assert not at.exception
    assert words in " ".join(e.value for e in at.error)


@pytest.mark.parametrize("mode", ["Convolution", "Max pool", "Average pool", "Transposed conv"])
def test_every_mode_with_three_channels_and_random_numbers(open_page, mode):
    at = open_page(PAGE, mode=mode, ch="3", p="1")
    clean(at)
    at.button(key="random").click().run()
    clean(at)
    at.button(key="last").click().run()
    clean(at)
    assert cell_text(at).startswith("Step ")
    at.button(key="reset").click().run()
    assert at.text_area(key="x0").value == X


def test_tables_show_under_the_text_boxes(open_page):
    at = open_page(PAGE, tables="true", ch="2")
    clean(at)
    editors = at.get("dataframe")
    assert len(editors) == 4  # input and kernel, per channel


def test_a_table_edit_becomes_the_grids_text():
    from cnnviz.ui.grid_editor import apply_edits

    grid = parse_kernel("1 2; 3 4")
    edited = apply_edits(grid, {0: {"1": 7}, "1": {0: None}, 1: {1: "x"}})
    assert edited.tolist() == [[1, 7], [3, 4]]  # a cleared or unreadable cell keeps its value
    assert grid.tolist() == [[1, 2], [3, 4]]  # the original is kept


def test_speed_is_in_the_url(open_page):
    at = open_page(PAGE, speed="0.25 s")
    assert at.select_slider(key="speed").value == 0.25


def test_a_shorter_walk_keeps_the_step_inside_it(open_page):
    at = open_page(PAGE, step="9")
    assert cell_text(at).startswith("Step 9 of 9")
    at.number_input(key="s").set_value(2).run()
    clean(at)
    assert re.match(r"Step [1-4] of 4", cell_text(at))
    assert any("never covered" in m.value or "Every input" in m.value for m in at.markdown)


def test_overflow_and_empty_text_are_explained(open_page):
    at = open_page(PAGE, x0="1e30 1e30; 1e30 1e30", k0="1e30")
    clean(at)
    assert cell_value(at) == "∞"
    assert "too large for 32-bit floats" in " ".join(w.value for w in at.warning)
    at = open_page(PAGE, x0=" ")
    assert "The grid is empty" in " ".join(w.value for w in at.warning)


def test_output_padding_row_holds_stamps_and_the_page_says_so(open_page):
    """s2 k3 p1 op1, all ones: the last output row is [1, 2, 1, 1] (torch), stamped cells that
    padding would have cropped; the page no longer calls them empty."""
    import torch
    import torch.nn.functional as F

    at = open_page(
        PAGE,
        mode="Transposed conv",
        x0="1 1; 1 1",
        k0="1 1 1; 1 1 1; 1 1 1",
        s="2",
        p="1",
        opad="1",
    )
    clean(at)
    at.button(key="last").click().run()
    clean(at)
    want = F.conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 3, 3), None, 2, 1, 1)
    shown = chart_labels(at, "out_0")
    assert list(shown[-1]) == [fmt(v) for v in want[0, 0, -1].tolist()] == ["1", "2", "1", "1"]
    words = "\n".join(
        [c.value for c in at.caption] + [m.value for m in at.markdown] + [i.value for i in at.info]
    )
    assert "empty cells at the bottom/right" not in words
    assert "adds a row and column at the bottom and right" not in words
    assert "keeps 1 row at the bottom that padding would have cropped" in words


def test_ceil_mode_pool_says_the_partial_window(open_page):
    at = open_page(
        PAGE, mode="Average pool", x0="1 2 3; 4 5 6; 7 8 9", pool_k="2", pool_s="2", ceil="true"
    )
    clean(at)
    words = "\n".join(m.value for m in at.markdown)
    assert "keeps a last, partial window" in words and "1 (not 2)" in words
    assert "only padding" not in words
    info = " ".join(i.value for i in at.info)
    assert "divided by how many cells it covers (padding cells included" in info
    assert "past the end" in " ".join(c.value for c in at.caption)  # the legend's blank cells
    at.button(key="last").click().run()
    clean(at)
    want = cnnviz.avg_pool2d(parse_kernel("1 2 3; 4 5 6; 7 8 9")[None], 2, 2, ceil_mode=True)
    assert cell_value(at) == fmt(want[0, -1, -1]) == "9"  # the corner window: 9 / 1
    # the cells past the end hold nothing: not written as zeros in the sum
    assert any("channel 1: (9) / 1 = 9 / 1 = 9" in m.value for m in at.markdown)
