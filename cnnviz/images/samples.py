"""Sample pictures: photos shipped inside scikit-image's package data, and pictures drawn here.

Each is decoded like an upload (`cnnviz.images.decode`), so a sample and an upload of the same
file give the same array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnviz.images.decode import ImageError, LoadedImage, Mode, check_options, from_pil, load_image


def _checkerboard() -> Image.Image:
    """8×8 squares of 32 px, black and white."""
    yy, xx = np.indices((256, 256)) // 32
    return Image.fromarray(((yy + xx) % 2 * 255).astype(np.uint8))


def _shapes() -> Image.Image:
    """A circle, a square and a triangle in three colours on a light grey ground."""
    im = Image.new("RGB", (256, 256), (230, 230, 230))
    draw = ImageDraw.Draw(im)
    draw.ellipse((24, 24, 112, 112), fill=(220, 40, 40))
    draw.rectangle((144, 32, 224, 112), fill=(40, 160, 60))
    draw.polygon([(128, 144), (208, 232), (48, 232)], fill=(40, 80, 220))
    return im


def _ramp(axis: int) -> Image.Image:
    """0..255 in 256 steps, left to right (axis 1) or top to bottom (axis 0)."""
    ramp = np.arange(256, dtype=np.uint8)
    return Image.fromarray(np.tile(ramp, (256, 1)) if axis == 1 else np.tile(ramp[:, None], 256))


def _stripes(direction: str) -> Image.Image:
    """Black and white stripes with periods 32, 16 and 8 px in three bands."""
    pos = np.arange(256)
    bands = np.minimum(pos * 3 // 256, 2)  # band index along the other axis
    periods = np.array([32, 16, 8])[bands]
    if direction == "diagonal":
        yy, xx = np.indices((256, 256))
        return Image.fromarray(((xx + yy) // 12 % 2 * 255).astype(np.uint8))
    on = (pos[None, :] // (periods[:, None] // 2)) % 2  # rows = bands, columns = position
    img = on if direction == "vertical" else on.T
    return Image.fromarray((img * 255).astype(np.uint8))


def _text() -> Image.Image:
    """Black letters on white, drawn with Pillow's built-in font."""
    im = Image.new("L", (256, 128), 255)
    draw = ImageDraw.Draw(im)
    draw.text((16, 8), "CNN", fill=0, font=ImageFont.load_default(size=64))
    draw.text((16, 84), "abc xyz 123", fill=0, font=ImageFont.load_default(size=28))
    return im


def _dot() -> Image.Image:
    """One white pixel in the middle of a black 33×33 square: shows a kernel's impulse response."""
    a = np.zeros((33, 33), np.uint8)
    a[16, 16] = 255
    return Image.fromarray(a)


def _step_edge() -> Image.Image:
    """Dark left half, bright right half: the simplest edge."""
    a = np.zeros((64, 64), np.uint8)
    a[:, 32:] = 255
    return Image.fromarray(a)


_SAMPLE_SOURCES: dict[str, tuple[str, str | Callable[[], Image.Image]]] = {
    "astronaut": (
        "Astronaut Eileen Collins: a colour portrait with faces and fine detail.",
        "astronaut.png",
    ),
    "cameraman": (
        "The classic grayscale test photo: a cameraman, sharp edges, smooth sky.",
        "camera.png",
    ),
    "cat": ("Chelsea the cat: fur, whiskers and a soft background.", "chelsea.png"),
    "coffee": ("A cup of coffee: smooth curves, highlights and warm colours.", "coffee.png"),
    "coins": ("Old coins on a dark background: round objects with clear edges.", "coins.png"),
    "rocket": ("A rocket on its launch pad: strong vertical lines against the sky.", "rocket.jpg"),
    "brick": ("A brick wall: a repeating texture of horizontal and vertical lines.", "brick.png"),
    "checkerboard": (
        "Black and white squares, 32 px each: edges in both directions.",
        _checkerboard,
    ),
    "shapes": ("A red circle, a green square and a blue triangle on light grey.", _shapes),
    "ramp horizontal": (
        "Brightness rising evenly from black (left) to white (right).",
        lambda: _ramp(axis=1),
    ),
    "ramp vertical": (
        "Brightness rising evenly from black (top) to white (bottom).",
        lambda: _ramp(axis=0),
    ),
    "stripes vertical": (
        "Vertical stripes, periods 32, 16 and 8 px from top to bottom.",
        lambda: _stripes("vertical"),
    ),
    "stripes horizontal": (
        "Horizontal stripes, periods 32, 16 and 8 px from left to right.",
        lambda: _stripes("horizontal"),
    ),
    "stripes diagonal": (
        "Diagonal stripes at 45 degrees, repeating every 24 px along a row.",
        lambda: _stripes("diagonal"),
    ),
    "text": ("Black letters on white: thin strokes, curves and corners.", _text),
    "dot": ("A single white pixel on black (33×33): filtering it draws the kernel.", _dot),
    "step edge": ("Black left half, white right half (64×64): one vertical edge.", _step_edge),
}

SAMPLES: Mapping[str, str] = MappingProxyType(
    {name: description for name, (description, _) in _SAMPLE_SOURCES.items()}
)


@lru_cache(maxsize=48)
def sample_image(name: str, mode: Mode = "rgb", max_side: int = 512) -> LoadedImage:
    """A sample from `SAMPLES`, decoded like an upload; cached and read-only, so never mutate it.

    Photos are read from scikit-image's installed package data (no network); the rest are drawn.
    """
    if name not in _SAMPLE_SOURCES:
        raise ImageError(f"There is no sample called {name!r}. Pick one of: {', '.join(SAMPLES)}.")
    check_options(mode, max_side)
    source = _SAMPLE_SOURCES[name][1]
    if isinstance(source, str):
        data = (resources.files("skimage") / "data" / source).read_bytes()
        loaded = load_image(data, mode=mode, max_side=max_side)
    else:
        im = source()
        loaded = from_pil(im, mode, max_side, "generated", im.size, [])
    loaded.array.flags.writeable = False
    return loaded
