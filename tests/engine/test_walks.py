"""The step-by-step walks: every step's sums and the final grid are the engine's and torch's."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnviz import SettingError, conv2d, conv_transpose2d
from cnnviz.explain import (
    canvas_text,
    conv_equation,
    pool_equation,
    stamp_equation,
    zero_insertion_text,
)
from cnnviz.numbers import fmt
from cnnviz.walks import (
    INPUT,
    INSERTED,
    OVERHANG,
    PADDING,
    conv_walk,
    make_walk,
    pool_walk,
    transpose_walk,
    zero_inserted,
)


def grid(draw, shape, lo=-4, hi=4, floats=False):
    n = int(np.prod(shape))
    if floats:
        vals = draw(st.lists(st.floats(-3, 3, width=32), min_size=n, max_size=n))
    else:
        vals = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    return np.array(vals, dtype=np.float32).reshape(shape)


@st.composite
def conv_configs(draw):
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    floats = draw(st.booleans())
    return dict(
        input=grid(draw, (c, h, w), floats=floats),
        weight=grid(draw, (c, kh, kw), floats=floats),
        bias=draw(st.one_of(st.none(), st.integers(-3, 3).map(float))),
        stride=draw(st.integers(1, 3)),
        padding=draw(st.one_of(st.integers(0, 3), st.sampled_from(["valid", "same", "full"]))),
        dilation=draw(st.integers(1, 3)),
        padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
    )


def torch_conv(cfg) -> np.ndarray:
    x = torch.tensor(cfg["input"])[None]
    w = torch.tensor(cfg["weight"])[None]
    b = None if cfg["bias"] is None else torch.tensor([cfg["bias"]], dtype=torch.float32)
    pad = cfg["padding"]
    if cfg["padding_mode"] != "zeros" or pad == "full":
        from cnnviz.shapes import resolve_conv_padding

        (pt, pb), (pl, pr) = resolve_conv_padding(pad, w.shape[-2:], cfg["stride"], cfg["dilation"])
        mode = {"zeros": "constant"}.get(cfg["padding_mode"], cfg["padding_mode"])
        x = F.pad(x, (pl, pr, pt, pb), mode=mode)
        pad = 0
    return F.conv2d(x, w, b, cfg["stride"], pad, cfg["dilation"])[0].numpy()


@given(conv_configs())
def test_conv_steps_are_the_engine_and_torch(cfg):
    try:
        walk = conv_walk(**cfg)
    except SettingError:
        assume(False)
    want = conv2d(
        cfg["input"],
        cfg["weight"][None],
        None if cfg["bias"] is None else np.float32([cfg["bias"]]),
        cfg["stride"],
        cfg["padding"],
        cfg["dilation"],
        1,
        cfg["padding_mode"],
    )
    assert np.array_equal(walk.output, want)
    np.testing.assert_allclose(walk.output, torch_conv(cfg), rtol=1e-5, atol=1e-4)
    totals = []
    for k, step in enumerate(walk.steps()):
        assert (step.row, step.col) == divmod(k, want.shape[-1])
        # the window on the drawn grid is what the products were made of
        for part in step.parts:
            assert np.array_equal(
                walk.grid[part.channel][np.ix_(step.rows, step.cols)], part.window
            )
            assert np.array_equal(part.products, part.window * part.weights)
        totals.append(step.total)
        assert step.values[0] == step.total
        shown = walk.output_until(k)
        assert np.isnan(shown).sum() == walk.n_steps - k - 1
        assert shown.reshape(-1)[k] == step.total
    # every step's total is the very number conv2d put in that cell
    assert np.array_equal(np.array(totals, np.float32).reshape(want.shape[1:]), want[0])


@st.composite
def pool_configs(draw):
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kind = draw(st.sampled_from(["max", "avg"]))
    k = draw(st.integers(1, 4))
    return dict(
        input=grid(draw, (c, h, w), floats=draw(st.booleans())),
        kind=kind,
        kernel_size=k,
        stride=draw(st.one_of(st.none(), st.integers(1, 3))),
        padding=draw(st.integers(0, k // 2)),
        dilation=1 if kind == "avg" else draw(st.integers(1, 2)),
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
    )


@given(pool_configs())
def test_pool_steps_are_the_engine_and_torch(cfg):
    try:
        walk = pool_walk(**cfg)
    except SettingError:
        assume(False)
    x = torch.tensor(cfg["input"])[None]
    if cfg["kind"] == "max":
        want = F.max_pool2d(
            x, cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["dilation"], cfg["ceil_mode"]
        )[0].numpy()
    else:
        want = F.avg_pool2d(
            x,
            cfg["kernel_size"],
            cfg["stride"],
            cfg["padding"],
            cfg["ceil_mode"],
            cfg["count_include_pad"],
        )[0].numpy()
    np.testing.assert_allclose(walk.output, want, rtol=1e-6, atol=1e-6)
    got = np.zeros_like(walk.output)
    for step in walk.steps():
        for part in step.parts:
            window = walk.grid[part.channel][np.ix_(step.rows, step.cols)]
            assert np.array_equal(window, part.window)
            if cfg["kind"] == "max":
                assert part.result == np.max(part.window)
                if part.winner is None:  # dilation can leave a window on padding alone
                    assert part.result == -np.inf
                    assert (walk.codes[np.ix_(step.rows, step.cols)] != INPUT).all()
                else:
                    i, j = part.winner
                    assert part.window[i, j] == part.result
                    assert walk.codes[step.rows[i], step.cols[j]] == INPUT
            else:  # the sum and divisor shown give the engine's average exactly
                assert np.float32(part.sum) / np.float32(part.divisor) == np.float32(part.result)
                if cfg["count_include_pad"]:  # torch divides by the cells the window covers
                    assert part.divisor == part.covered.sum()
            # the written arithmetic lists the covered cells only (not ceil_mode's overhang)
            covered = walk.codes[np.ix_(step.rows, step.cols)] != OVERHANG
            assert np.array_equal(part.covered, covered)
            line = pool_equation(step, cfg["kind"])[part.channel]
            listed = line.split("(", 1)[1].split(")")[0] if cfg["kind"] == "max" else None
            if listed is not None:
                assert listed.count(",") == covered.sum() - 1
            got[part.channel, step.row, step.col] = part.result
    assert np.array_equal(got, walk.output)


@st.composite
def transpose_configs(draw):
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    return dict(
        input=grid(draw, (c, h, w)),
        weight=grid(draw, (c, kh, kw)),
        bias=draw(st.one_of(st.none(), st.integers(-3, 3).map(float))),
        stride=stride,
        padding=draw(st.integers(0, 2)),
        output_padding=draw(st.integers(0, max(stride, dilation) - 1)),
        dilation=dilation,
    )


@given(transpose_configs())
def test_transposed_scatter_and_conv_views_equal_conv_transpose2d(cfg):
    try:
        walk = transpose_walk(**cfg)
    except SettingError:
        assume(False)
    x, w = torch.tensor(cfg["input"])[None], torch.tensor(cfg["weight"])[:, None]
    b = None if cfg["bias"] is None else torch.tensor([cfg["bias"]], dtype=torch.float32)
    want = F.conv_transpose2d(
        x, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"], 1, cfg["dilation"]
    )[0].numpy()
    engine = conv_transpose2d(
        cfg["input"],
        cfg["weight"][:, None],
        None if b is None else b.numpy(),
        cfg["stride"],
        cfg["padding"],
        cfg["output_padding"],
        1,
        cfg["dilation"],
    )
    assert np.array_equal(walk.output, engine)
    np.testing.assert_allclose(walk.output, want, atol=1e-4)
    # scatter view: adding every stamp, by hand, then cropping, gives the engine's output
    canvas = np.zeros(walk.canvas_shape)
    for step in walk.steps():
        for ch in range(cfg["input"].shape[0]):
            assert np.array_equal(step.stamps[ch], step.values[ch] * cfg["weight"][ch])
        assert np.allclose(step.stamp, step.stamps.sum(axis=0))
        canvas[np.ix_(step.rows, step.cols)] += step.stamp
        assert np.array_equal(canvas, step.canvas)  # integers: exact in any order
        shown = walk.output_until(step.index)
        filled = ~np.isnan(shown)
        assert np.array_equal(shown[filled], step.output[filled])
    top, left, bottom, right = walk.crop
    cropped = step.canvas[top : bottom + 1, left : right + 1] + (cfg["bias"] or 0)
    assert np.array_equal(cropped, walk.output[0])
    assert np.array_equal(step.output, walk.output[0])
    assert np.array_equal(walk.output_until(step.index), walk.output[0])  # all filled at the end
    # conv view: the convolution over the zero-inserted input gives the same numbers
    conv = walk.as_conv
    assert np.array_equal(conv.output, walk.output)
    assert np.array_equal(
        conv.grid[:, conv.codes == INSERTED], 0 * conv.grid[:, conv.codes == INSERTED]
    )
    totals = [s.total for s in conv.steps()]
    assert np.array_equal(np.array(totals, np.float32).reshape(want.shape[1:]), want[0])


@given(
    st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2)
)
def test_zero_insertion_has_the_documented_size(h, k, s, p, d):
    x = np.arange(h * h, dtype=np.float32).reshape(1, h, h) + 1
    assume((h - 1) * s - 2 * p + d * (k - 1) + 1 >= 1)
    z, codes = zero_inserted(x, k, s, p, 0, d)
    out = (h - 1) * s - 2 * p + d * (k - 1) + 1
    assert z.shape[-1] == out + d * (k - 1)  # a stride-1 conv of it has `out` cells
    if d * (k - 1) >= p:  # nothing cropped: every input value is there, in order
        assert np.array_equal(z[0][codes == INPUT], x.ravel())
    assert set(np.unique(codes)) <= {INPUT, INSERTED, PADDING}


def test_default_example_by_hand():
    """The page's 5x5 input and 3x3 kernel: the first step, written out."""
    x = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5)
    w = np.array([[[1, 0, -1], [1, 0, -1], [1, 0, -1]]], dtype=np.float32)
    walk = conv_walk(x, w)
    assert walk.n_steps == 9
    first = walk.step(0)
    assert conv_equation(first) == [
        "channel 1: 1×1 + 2×0 + 3×(-1) + 6×1 + 7×0 + 8×(-1) + 11×1 + 12×0 + 13×(-1) = -6"
    ]
    assert fmt(walk.output[0, 0, 0]) == "-6"


def test_max_pool_padding_never_wins_and_avg_counts_what_it_says():
    x = -np.ones((1, 2, 2), dtype=np.float32)
    walk = pool_walk(x, "max", 3, 1, 1)
    step = walk.step(0)
    assert walk.grid[0, 0, 0] == -np.inf and walk.codes[0, 0] == PADDING
    assert step.parts[0].result == -1
    assert pool_equation(step, "max")[0].endswith("= -1")
    avg = pool_walk(x, "avg", 3, 1, 1, count_include_pad=False).step(0)
    assert avg.parts[0].divisor == 4 and avg.parts[0].result == -1
    avg = pool_walk(x, "avg", 3, 1, 1, count_include_pad=True).step(0)
    assert avg.parts[0].divisor == 9
    assert pool_equation(avg, "avg")[0].endswith("= -4 / 9 = -0.444")


def test_ceil_mode_overhang_is_marked():
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    walk = pool_walk(x, "max", 2, 2, 0, ceil_mode=True)
    assert walk.output.shape == (1, 3, 3)
    assert (walk.codes[-1] == OVERHANG).all() and (walk.codes[:, -1] == OVERHANG).all()
    assert walk.step(walk.n_steps - 1).parts[0].result == 24


def test_stamp_words():
    walk = transpose_walk(np.float32([[[1, 2], [3, 4]]]), np.float32([[[1, -1]]]), stride=2)
    assert stamp_equation(walk, walk.step(1)) == [
        "channel 1: input 2 × kernel slice 1 → stamp 2 -2"
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(mode="conv", weight=np.ones((1, 6, 6))),  # kernel larger than the input
        dict(mode="max_pool", kernel_size=2, padding=2),  # pool padding > half the kernel
        dict(mode="conv_transpose", weight=np.ones((1, 1, 1)), padding=3),  # crops all
        dict(mode="conv", weight=np.ones((2, 3, 3))),  # wrong number of kernel slices
        dict(mode="avg_pool", kernel_size=2, dilation=2),
        dict(mode="nope"),
    ],
)
def test_impossible_settings_are_setting_errors(kwargs):
    x = np.ones((1, 4, 4), dtype=np.float32)
    with pytest.raises(SettingError):
        make_walk(input=x, **kwargs)


def test_fmt_is_compact():
    assert [fmt(v) for v in (3.0, -0.0, 0.5, 1 / 3, -np.inf, np.nan, 12345.0, 1e-7)] == [
        "3",
        "0",
        "0.5",
        "0.333",
        "-∞",
        "",
        "12345",
        "1e-7",
    ]


# ------------------------------------------------------------------------------ pictures


def _walks():
    x = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5) % 7
    x3 = np.stack([x[0], x[0] * 2 % 5, 3 - x[0]])
    w3 = np.stack([np.eye(3, dtype=np.float32)] * 3)
    return {
        "conv": conv_walk(x3, w3, 1.0, padding=1, dilation=2),
        "max": pool_walk(x3, "max", 2, 2, 1, 1, True),
        "avg": pool_walk(x, "avg", 3, 2, 1, count_include_pad=False),
        "transposed": transpose_walk(x3[:2, :3, :3], w3[:2, :2, :2], 1.0, 2, 1, 1),
    }


@pytest.mark.parametrize("name", ["conv", "max", "avg", "transposed"])
def test_png_frame_and_gif_of_every_mode(name):
    from io import BytesIO

    from PIL import Image

    from cnnviz.render.frames import frame_png, walk_gif

    walk = _walks()[name]
    png = Image.open(BytesIO(frame_png(walk, walk.n_steps - 1, name)))
    assert png.format == "PNG" and png.width > 200 and png.height > 100
    gif = Image.open(BytesIO(walk_gif(walk, name, ms_per_step=300)))
    assert gif.format == "GIF" and gif.n_frames == walk.n_steps
    gif.seek(walk.n_steps - 1)
    assert gif.info["duration"] == 600  # the last frame stays longer


def test_figures_show_the_walks_numbers():
    from cnnviz.figures.walk import (
        canvas_figure,
        input_figure,
        kernel_figure,
        output_figure,
        scatter_input_figure,
    )

    walks = _walks()
    conv = walks["conv"]
    step = conv.step(4)
    fig = input_figure(conv, step, 2)
    labels = fig.labels
    assert labels.shape == conv.grid.shape[1:]
    assert list(labels.ravel()) == [fmt(v) for v in conv.grid[2].ravel()]
    box = fig.marks[0]  # the window's outline
    assert (box.top, box.left, box.bottom, box.right) == step.box
    k = kernel_figure(step.parts[0].weights, conv.dilation)
    assert k.labels.shape == (5, 5)  # 3 taps at dilation 2: gaps between
    assert k.labels[1, 1] == ""
    out = output_figure(conv.output_until(4)[0], (step.row, step.col))
    shown = out.labels.ravel()
    assert list(shown[:5]) == [fmt(v) for v in conv.output[0].ravel()[:5]]
    assert set(shown[5:]) == {""}
    # max pooling: the winner is drawn (white on dark)
    mx = walks["max"]
    mstep = mx.step(4)
    fig = input_figure(mx, mstep, 0)
    assert list(fig.labels[fig.light]) == [fmt(mstep.parts[0].result)]
    tr = walks["transposed"]
    tstep = tr.step(tr.n_steps - 1)
    assert canvas_figure(tr, tstep).labels.shape == tr.canvas_shape
    assert scatter_input_figure(tr, tstep, 1).labels.shape == (3, 3)


def test_gif_keeps_evenly_spaced_steps_of_long_or_large_walks():
    from cnnviz.render.frames import MAX_GIF_FRAMES, MAX_GIF_PIXELS, gif_steps

    assert gif_steps(9, 10_000) == list(range(9))
    long = gif_steps(1000, 10_000)
    assert len(long) == MAX_GIF_FRAMES and long[0] == 0 and long[-1] == 999
    large = gif_steps(144, MAX_GIF_PIXELS // 20)
    assert len(large) == 20 and large[-1] == 143
    assert gif_steps(50, MAX_GIF_PIXELS * 2) == [0, 49]  # at least the first and the last


def test_output_padding_words_match_the_canvas_torch_makes():
    """s2 k3 p1 op1, all ones: the row output_padding keeps is a stamped canvas row
    ([1, 2, 1, 1] in torch), not an empty one; past the canvas (p0 op1) it is empty."""
    x, w = np.ones((1, 2, 2), np.float32), np.ones((1, 3, 3), np.float32)
    walk = transpose_walk(x, w, None, 2, 1, 1)
    want = F.conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 3, 3), None, 2, 1, 1)
    assert walk.output[0, -1].tolist() == want[0, 0, -1].tolist() == [1, 2, 1, 1]
    text = canvas_text(walk)
    assert "keeps 1 row at the bottom that padding would have cropped" in text
    assert "empty" not in text
    past = transpose_walk(x, w, None, 2, 0, 1)
    assert past.output[0, -1].tolist() == [0] * 6  # nothing lands past the last stamp
    assert "adds 1 empty row past the last stamp at the bottom" in canvas_text(past)
    assert "the bottom gets 2 + 1 = 3" in zero_insertion_text(past)
