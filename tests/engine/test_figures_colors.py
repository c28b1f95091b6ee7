"""Colour maps and figures: what they draw agrees with the engine's numbers."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
from cnnviz.figures.sizes import coverage_figure, stamp_figure, strip_spec
from cnnviz.render.colormaps import colorize, value_range
from cnnviz.render.png import map_grid
from cnnviz.shapes import SettingError


def test_signed_maps_are_centred_on_zero():
    a = np.array([[-2.0, 0.0, 1.0]])
    rng = value_range(a)
    assert (rng.vmin, rng.vmax, rng.signed) == (-2.0, 2.0, True)
    rgb = colorize(a, rng=rng)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    # zero lands on the diverging map's pale middle; -2 is blue, +1 is reddish
    assert rgb[0, 1].min() > 200
    assert rgb[0, 0, 2] > rgb[0, 0, 0] and rgb[0, 2, 0] > rgb[0, 2, 2]


def test_nonnegative_maps_use_their_own_range_and_nan_is_grey():
    rng = value_range(np.array([1.0, 3.0]))
    assert (rng.vmin, rng.vmax, rng.signed) == (1.0, 3.0, False)
    assert colorize(np.array([[np.nan]]))[0, 0].tolist() == [128, 128, 128]
    assert value_range(np.zeros(4)).vmax > 0  # a flat map still has a range


def test_map_grid_tiles_with_gaps():
    grid, rng = map_grid(np.random.default_rng(0).standard_normal((4, 5, 6)), cols=2)
    assert grid.shape == (2 * 5 + 2, 2 * 6 + 2, 3)
    assert rng.signed


@given(
    st.integers(1, 30),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 3),
    st.booleans(),
    st.booleans(),
)
def test_coverage_figure_marks_exactly_the_cells_no_window_reads(n, k, s, p, d, pool, ceil):
    try:
        dims = cnnviz.output_size(n, k, s, p, d, op="pool" if pool else "conv", ceil_mode=ceil).dims
    except SettingError:
        return
    dim = dims[0]
    z = coverage_figure(dim).z
    assert (z[0] == 3).sum() == dim.skipped  # orange "never read" cells
    assert z.shape[0] == 1 + min(dim.size, 16)
    for row in z[1:]:  # every window has exactly `kernel` taps (on input, padding or past the end)
        assert ((row == 4) | (row == 5) | (row == 7)).sum() == dim.kernel
    before, after = dim.padding
    beyond = np.arange(z.shape[1]) >= before + n + after  # only ceil_mode's overhang is there
    assert not np.isin(z[:, beyond], (1, 5)).any()  # never called padding
    assert np.isin(z[0, beyond], (6,)).all()


def test_ceil_overhang_is_not_labelled_padding():
    """5 wide, window 2, stride 2, ceil_mode, no padding: torch keeps a 3rd window, over the last
    input cell and one cell past the end, which is not padding."""
    import torch
    import torch.nn.functional as F

    dim = cnnviz.output_size(5, 2, 2, 0, op="pool", ceil_mode=True).dims[0]
    assert dim.size == F.max_pool2d(torch.zeros(1, 1, 1, 5), 2, 2, ceil_mode=True).shape[-1]
    fig = coverage_figure(dim)
    labels = [fig.xlabels[i] for i in fig.ticks]
    assert labels == ["0", "1", "2", "3", "4", "–"] and "p" not in labels
    assert "padding" not in fig.hover[0][-1]


@given(
    st.integers(1, 12),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 3),
    st.integers(0, 2),
)
def test_stamp_figure_keeps_as_many_cells_as_the_output_has(n, k, s, p, d, op):
    try:
        dim = cnnviz.output_size(n, k, s, p, d, op="conv_transpose", output_padding=op).dims[0]
    except SettingError:
        return
    z = stamp_figure(dim).z
    assert (z[-1] == 2).sum() == dim.size


def test_strips_too_wide_to_read_are_not_built():
    assert coverage_figure(cnnviz.output_size(4096, 3).dims[0]) is None
    wide = cnnviz.output_size(200, 3, op="conv_transpose", stride=4).dims[0]
    assert stamp_figure(wide) is None


def test_stamp_legend_speaks_of_stamps_not_windows():
    dim = cnnviz.output_size(5, 3, 2, 1, op="conv_transpose").dims[0]
    names = [name for name, _ in stamp_figure(dim).legend()]
    assert "stamp kept" in names and "stamp cropped" in names and "tap on input" not in names


def test_a_wide_strip_labels_round_columns_only():
    """224 + padding 1: a label on each of 226 columns was unreadable (and cost the browser ~3 s
    of CPU per page); about a dozen round numbers, and the padding where no number is near."""

    def axis(*args):
        strip = coverage_figure(cnnviz.output_size(*args).dims[0])
        spec = strip_spec(strip)["encoding"]["x"]["axis"]
        assert spec["values"] == strip.ticks  # the chart writes exactly these columns
        return strip.ticks, [strip.xlabels[i] for i in strip.ticks]

    vals, texts = axis(224, 3, 2, 1)
    assert texts == [str(v) for v in range(0, 224, 20)]
    assert vals == [v + 1 for v in range(0, 224, 20)]  # column 0 is padding
    _, texts = axis(100, 5, 1, 12)
    assert texts[0] == "p" and texts[-1] == "p" and "0" in texts and len(texts) <= 14
    _, texts = axis(30, 3, 1, 1)
    assert texts == ["p", *map(str, range(30)), "p"]  # every column up to 40


def test_the_strip_chart_draws_every_coded_cell_with_its_text_and_colour():
    strip = coverage_figure(cnnviz.output_size(5, 3, 2, 1).dims[0])
    spec = strip_spec(strip)
    cells = spec["data"]["values"]
    assert len(cells) == int((strip.z != 0).sum())  # empty cells are not drawn
    for cell in cells:
        assert cell["tip"] == strip.hover[cell["row"]][cell["col"]]
    scale = spec["encoding"]["color"]["scale"]
    assert list(zip(scale["domain"], scale["range"])) == strip.legend()
    assert {c["what"] for c in cells} == set(scale["domain"])  # each colour named in the legend


def test_the_confusion_matrix_writes_each_count_in_its_cell():
    from cnnviz.ui.train.charts import confusion_spec

    c = np.array([[5, 1], [0, 7]])
    spec = confusion_spec(c, ["cat", "dog"])
    rows = spec["data"]["values"]
    assert {(r["true"], r["predicted"]): r["count"] for r in rows} == {
        ("cat", "cat"): 5,
        ("cat", "dog"): 1,
        ("dog", "cat"): 0,
        ("dog", "dog"): 7,
    }
    text = spec["layer"][1]
    assert text["encoding"]["text"] == {"field": "count"}
    assert "layer" not in confusion_spec(np.zeros((21, 21), int), list(range(21)))  # no text


def test_the_transfer_chart_has_both_curves_in_percent():
    from types import SimpleNamespace

    from cnnviz.figures.transfer import NAMES, transfer_spec

    result = SimpleNamespace(
        transfer=SimpleNamespace(val_acc=[0.5, 0.75]), scratch=SimpleNamespace(val_acc=[0.25, 0.5])
    )
    rows = transfer_spec(result)["data"]["values"]
    assert [(r["way"], r["epoch"], r["accuracy"]) for r in rows] == [
        (NAMES["transfer"], 1, 50.0),
        (NAMES["transfer"], 2, 75.0),
        (NAMES["scratch"], 1, 25.0),
        (NAMES["scratch"], 2, 50.0),
    ]
