"""cnnviz.render.net: a net's arrays as PNGs. Sizes, tiling, the shared colour range, grey
blanks and white gaps, and the range caption."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnviz.render import net
from cnnviz.render.colormaps import Range, range_caption, value_range


def image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_sample_png_grey_and_colour_are_enlarged_and_clipped():
    grey = image(net.sample_png(np.full((1, 8, 8), 2.0, np.float32)))
    assert grey.size == (96, 96)
    assert np.asarray(grey.convert("L")).min() == 255  # values above 1 clipped to white
    rgb = image(net.sample_png(np.zeros((3, 10, 20), np.float32), min_side=30))
    assert rgb.size == (60, 30) and rgb.mode == "RGB"


@pytest.mark.parametrize("n, cols", [(1, 1), (4, 2), (5, 3), (9, 3), (10, 4), (100, 8)])
def test_grid_cols_is_about_square_and_capped(n, cols):
    assert net.grid_cols(n) == cols


def test_grid_png_tiles_with_gaps_and_draws_nan_grey():
    maps = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    maps[2, 0, 0] = np.nan
    im = image(net.grid_png(maps, value_range(maps[np.isfinite(maps)]), cols=2, gap=1))
    assert im.mode == "P" and im.size == (2 * 2 + 1, 2 * 2 + 1)
    rgb = np.asarray(im.convert("RGB"))
    assert tuple(rgb[0, 2]) == (255, 255, 255)  # the gap between two maps
    assert tuple(rgb[3, 0]) == (200, 200, 200)  # the NaN cell
    assert tuple(rgb[4, 4]) == (255, 255, 255)  # the empty fourth place
    big = image(net.grid_png(maps, value_range(maps[np.isfinite(maps)]), 3, min_side=10))
    assert big.size == (3 * 10 + 2 * 2, 10)


def test_maps_png_shares_one_range_over_channels():
    v = np.stack([np.zeros((4, 4)), np.full((4, 4), 5.0)]).astype(np.float32)
    _, rng, note = net.maps_png(v)
    assert (rng.vmin, rng.vmax) == (0, 5) and not rng.signed and note == ""
    _, _, note = net.maps_png(np.zeros(2000, np.float32))
    assert note == "first 1024 of 2000 values"


def test_matrix_png_caps_inputs_and_is_signed():
    w = np.random.default_rng(0).normal(size=(10, 2000)).astype(np.float32)
    png, rng, note = net.matrix_png(w)
    assert rng.signed and note == "first 1024 of 2000 inputs"
    assert image(png).size == (1024, 10 * 8)  # 8 px rows for a few outputs, 1 px columns


def test_filters_png_caps_filters_and_inputs():
    w = np.ones((70, 20, 3, 3), np.float32)
    _, _, note = net.filters_png(w)
    assert note == "first 64 of 70 filters, first 16 of 20 input channels"


def test_histogram_png_bar_heights_follow_the_counts():
    img = np.asarray(image(net.histogram_png(np.array([1, 2]), width=4, height=5)).convert("RGB"))
    blue = (img == (31, 119, 180)).all(axis=2)
    # bars of round(count / max * 4) rows, less the bottom row: the grey axis
    assert blue[:, :2].sum(axis=0).tolist() == [1, 1]
    assert blue[:, 2:].sum(axis=0).tolist() == [3, 3]
    assert (img[-1] == (160, 160, 160)).all()


def test_range_caption():
    assert range_caption(Range(-1, 2.5, True)) == "blue −2.5 · white 0 · red +2.5"
    assert range_caption(Range(0, 1, False)) == "dark 0 → bright 1"
