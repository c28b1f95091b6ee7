"""Slide exports: Step by step's PNG and GIF and the Convolution page's maps PNG are at least
1280 px wide, carry a title and a colour key; text falls back to ASCII without DejaVu."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnviz import walks
from cnnviz.kernels import parse_kernel
from cnnviz.render import slides
from cnnviz.render.cells import COLORS
from cnnviz.render.colormaps import DIVERGING, colorbar, colorize, value_range
from cnnviz.render.frames import frame_png, walk_gif
from cnnviz.render.png import tile

X = parse_kernel("1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0")[None]
K = parse_kernel("1 0 1; 0 1 0; 1 0 1")[None]


def _walk():
    return walks.make_walk("conv", X, K, None, stride=1, padding=1, dilation=1)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))


def _dark_rows(img: Image.Image) -> np.ndarray:
    a = np.asarray(img.convert("L"))
    return np.nonzero((a < 60).sum(axis=1) > 0)[0]


def _has_colour(img: Image.Image, rgb, box=None) -> bool:
    a = np.asarray(img.convert("RGB").crop(box) if box else img.convert("RGB"))
    return bool((np.abs(a.astype(int) - np.array(rgb)).sum(axis=2) <= 3).any())


def test_step_png_is_a_slide_with_title_and_colour_key() -> None:
    img = Image.open(io.BytesIO(frame_png(_walk(), 0, "Convolution")))
    assert img.width >= slides.SLIDE_WIDTH
    assert _dark_rows(img)[0] < 60, "no title text at the top"
    bottom = (0, img.height - 70, img.width, img.height)  # the colour key's row
    for kind in ("input", "padding", "weight"):
        assert _has_colour(img, _rgb(COLORS[kind]), bottom), f"no {kind} swatch in the key"


def test_step_gif_frames_are_slides() -> None:
    gif = Image.open(io.BytesIO(walk_gif(_walk(), "Convolution")))
    assert gif.width >= slides.SLIDE_WIDTH
    assert gif.n_frames == _walk().n_steps
    gif.seek(gif.n_frames - 1)
    assert _dark_rows(gif.convert("RGB"))[0] < 60


def test_the_same_walk_gives_the_same_gif_file_in_any_process() -> None:
    """The GIF's palette follows COLORS' order, not a set's, whose order changes with each
    process's hash seed: the same walk downloads as the same bytes after a server restart."""
    code = (
        "import hashlib, sys; sys.path.insert(0, '.');"
        "from cnnviz import walks; from cnnviz.kernels import parse_kernel;"
        "from cnnviz.render.frames import walk_gif;"
        f"x = parse_kernel({'1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1'!r})[None];"
        "k = parse_kernel('1 0 1; 0 1 0; 1 0 1')[None];"
        "w = walks.make_walk('conv', x, k, None, stride=1, padding=1, dilation=1);"
        "print(hashlib.sha256(walk_gif(w, 'g')).hexdigest())"
    )
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1, digests


def test_maps_slide_has_title_and_colour_bar() -> None:
    rng_ = np.random.default_rng(0)
    maps = rng_.normal(size=(3, 40, 50)).astype(np.float32)
    rng = value_range(maps)
    cmap = DIVERGING[0]
    sheet = tile([colorize(m, cmap, rng) for m in maps], cols=3, gap=4)
    img = slides.maps_slide(sheet, "cat: feature maps, 3 × 40 × 50", cmap, rng)
    assert img.width >= slides.SLIDE_WIDTH
    assert _dark_rows(img)[0] < 60, "no title"
    bar = colorbar(cmap, 600, 1)[0]
    lower = (0, img.height * 2 // 3, img.width, img.height)
    assert _has_colour(img, bar[0], lower) and _has_colour(img, bar[-1], lower), "no colour bar"


@pytest.fixture
def no_dejavu(monkeypatch):
    slides.unicode_font_path.cache_clear()
    slides.font.cache_clear()
    monkeypatch.setattr(slides, "FONT_DIR", slides.Path("/nonexistent"))
    yield
    slides.unicode_font_path.cache_clear()
    slides.font.cache_clear()


def test_without_dejavu_text_is_ascii(no_dejavu) -> None:
    assert slides.unicode_font_path() is None
    assert slides.text("3×3 → −1 ∞") == "3x3 -> -1 inf"
    img = Image.open(io.BytesIO(frame_png(_walk(), 0, "Convolution")))
    assert img.width >= slides.SLIDE_WIDTH


def test_with_dejavu_text_keeps_its_signs() -> None:
    if slides.unicode_font_path() is None:
        pytest.skip("fonts-dejavu-core is not installed here")
    assert slides.text("3×3") == "3×3"
