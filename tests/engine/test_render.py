"""cnnviz.render: the one upscale (and its cap), tiles, the range caption, colour-map choice,
palette maps with a ringed cell, and a walk's GIF frames."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnviz import walks
from cnnviz.kernels import parse_kernel
from cnnviz.render.colormaps import (
    DEFAULT_DIVERGING,
    DEFAULT_SEQUENTIAL,
    Range,
    cmap_for,
    colorize,
    palette,
    range_caption,
    rgb,
    shared_range,
    value_range,
)
from cnnviz.render.frames import gif_steps, render_frame, walk_gif
from cnnviz.render.png import (
    RING,
    colorbar_png,
    map_grid,
    map_image,
    marked_map_png,
    palette_image,
    picture_bytes,
    png_bytes,
    shrink,
    tile,
    upscale,
)


def test_upscale_repeats_pixels_until_the_short_side_is_reached() -> None:
    a = np.arange(6).reshape(2, 3)
    big = upscale(a, 10)
    assert big.shape == (10, 15)  # factor 5 = ceil(10 / 2)
    assert (big[:5, :5] == 0).all() and (big[5:, 10:] == 5).all()
    assert upscale(a, 1) is a  # already big enough: the same array back


def test_upscale_caps_the_long_side() -> None:
    a = np.zeros((4, 1000), np.uint8)
    assert upscale(a, 100).shape == (16, 4000)  # 4096 // 1000 = 4, not 25
    assert upscale(a, 100, max_side=2048).shape == (8, 2000)  # the Train page's smaller cap
    assert upscale(np.zeros((1, 5000)), 100).shape == (1, 5000)  # never shrinks


def test_tile_lays_images_out_in_rows_with_gaps() -> None:
    ims = [np.full((2, 3, 3), v, np.uint8) for v in (10, 20, 30)]
    out = tile(ims, cols=2, gap=1, fill=255)
    assert out.shape == (2 * 2 + 1, 2 * 3 + 1, 3)
    assert (out[0:2, 0:3] == 10).all() and (out[0:2, 4:7] == 20).all()
    assert (out[3:5, 0:3] == 30).all()
    assert (out[2] == 255).all() and (out[:2, 3] == 255).all()  # the gaps
    assert (out[3:, 4:] == 255).all()  # no fourth image: the cell stays blank


def test_map_grid_shares_one_range_and_honours_a_colour_choice() -> None:
    maps = np.stack([np.zeros((3, 3)), np.full((3, 3), 2.0)])
    sheet, rng = map_grid(maps, cols=2, cmap={"seq": "gray", "div": "BrBG"}, gap=4)
    assert rng == Range(0.0, 2.0, False)
    assert sheet.shape == (3, 3 + 4 + 3, 3)
    assert tuple(sheet[0, 0]) == (0, 0, 0) and tuple(sheet[0, -1]) == (255, 255, 255)


def test_range_caption_says_what_the_colours_mean() -> None:
    assert range_caption(Range(-2.5, 2.5, True)) == "blue −2.5 · white 0 · red +2.5"
    assert range_caption(Range(0.0, 0.125, False)) == "dark 0 → bright 0.125"
    assert range_caption(value_range(np.array([1.0, 3.0]))) == "dark 1 → bright 3"


def test_cmap_for_picks_by_sign() -> None:
    signed, plain = Range(-1, 1, True), Range(0, 1, False)
    assert cmap_for(signed) == DEFAULT_DIVERGING and cmap_for(plain) == DEFAULT_SEQUENTIAL
    view = {"div": "PuOr_r", "seq": "magma"}
    assert cmap_for(signed, view) == "PuOr_r" and cmap_for(plain, view) == "magma"
    assert cmap_for(signed, "viridis") == "viridis"  # a name is used as given


def test_shared_range_spans_every_map() -> None:
    rng = shared_range(np.array([[-1.0, 0.5]]), np.array([3.0]))
    assert rng == Range(-3.0, 3.0, True)


def test_palette_matches_colorize_and_rgb_reads_both_notations() -> None:
    pal = palette("viridis")
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    ramp = colorize(np.linspace(0, 1, 256), "viridis", Range(0.0, 1.0, False))
    np.testing.assert_array_equal(pal, ramp)
    assert rgb("#0072B2") == (0, 114, 178)
    assert rgb("rgb(1, 2.0, 3)") == (1, 2, 3)


def test_marked_map_rings_the_cell_and_keeps_its_colour() -> None:
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    png, rng = marked_map_png(a, None, (1, 2), min_side=80)
    im = Image.open(io.BytesIO(png))
    assert im.mode == "P" and im.size == (80, 80) and rng == value_range(a)
    idx = np.asarray(im)
    assert set(RING) <= set(np.unique(idx).tolist())
    plain, _ = map_image(a, None, None, min_side=80)
    cell = np.asarray(plain)[20:40, 40:60]
    np.testing.assert_array_equal(idx[25:35, 45:55], cell[5:15, 5:15])  # inside: untouched


def test_palette_image_keeps_indices_and_colours() -> None:
    idx = np.array([[0, 1], [2, 1]], np.uint8)
    pal = np.zeros((256, 3), np.uint8)
    pal[1], pal[2] = (255, 0, 0), (0, 0, 255)
    im = palette_image(idx, pal)
    assert im.mode == "P" and im.size == (2, 2)
    np.testing.assert_array_equal(np.asarray(im), idx)
    assert im.convert("RGB").getpixel((1, 0)) == (255, 0, 0)
    assert im.convert("RGB").getpixel((0, 1)) == (0, 0, 255)


def test_shrink_block_averages_big_maps() -> None:
    a = np.arange(16, dtype=float).reshape(4, 4)
    np.testing.assert_allclose(shrink(a, 2), [[2.5, 4.5], [10.5, 12.5]])
    assert shrink(a, 4) is a


def test_picture_bytes_png_for_small_jpeg_for_photos() -> None:
    small = np.zeros((10, 10, 3), np.uint8)
    big = np.zeros((200, 200, 3), np.uint8)
    assert Image.open(io.BytesIO(picture_bytes(small))).format == "PNG"
    assert Image.open(io.BytesIO(picture_bytes(big))).format == "JPEG"


def test_png_bytes_and_colorbar_png_decode() -> None:
    im = Image.new("RGB", (5, 4), (1, 2, 3))
    for fast in (True, False):
        back = Image.open(io.BytesIO(png_bytes(im, fast=fast)))
        assert back.size == (5, 4) and back.getpixel((0, 0)) == (1, 2, 3)
    assert Image.open(io.BytesIO(colorbar_png("gray"))).size == (256, 10)


X = parse_kernel("1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0")[None]
K = parse_kernel("1 0 1; 0 1 0; 1 0 1")[None]


def test_gif_holds_one_frame_per_kept_step_on_one_sheet_size() -> None:
    walk = walks.make_walk("conv", X, K, None, stride=2, padding=1, dilation=1)
    first = render_frame(walk, 0, "conv")
    gif = Image.open(io.BytesIO(walk_gif(walk, "conv", ms_per_step=100)))
    assert gif.n_frames == len(gif_steps(walk.n_steps, first.width * first.height))
    sizes = [render_frame(walk, k, "conv").size for k in range(walk.n_steps)]
    assert gif.size == (max(w for w, _ in sizes), max(h for _, h in sizes))  # one sheet size
    durations = []
    for k in range(gif.n_frames):
        gif.seek(k)
        durations.append(gif.info["duration"])
    assert durations == [100] * (gif.n_frames - 1) + [200]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_gif_steps_of_a_short_walk_are_all_of_them(n: int) -> None:
    assert gif_steps(n, 10) == list(range(n))
