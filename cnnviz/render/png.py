"""Pixels out: floats to uint8, PNG bytes, maps as palette PNGs, tiles, enlarging and shrinking.

Images travel to the browser as PNG (far smaller than float JSON); maps as palette PNGs of
`MAP_LEVELS` colours, a third of an RGB PNG's bytes and faster to make.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw

from cnnviz.render.colormaps import (
    MAP_LEVELS,
    Cmap,
    Range,
    cmap_for,
    colorbar,
    colorize,
    levels,
    palette,
    value_range,
)


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Map floats in [0, 1] to uint8 0..255 (rounded, clipped, NaN -> 0) for PNG and display."""
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * np.uint8(255)
    scaled = np.nan_to_num(a.astype(np.float32) * 255, nan=0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def png_bytes(im: Image.Image, *, fast: bool = False) -> bytes:
    """A PIL image as PNG bytes: `fast` (zlib level 1) for pictures made on every click, else
    optimized (smallest) for downloads."""
    buf = io.BytesIO()
    if fast:
        im.save(buf, "PNG", compress_level=1)
    else:
        im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def array_to_png(a: np.ndarray, *, compress_level: int = 1) -> bytes:
    """Encode a (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image in [0, 1] as PNG bytes.

    Images travel to the browser as PNG (far smaller than float JSON); level 1 is fast.
    """
    u8 = to_uint8(a)
    if u8.ndim == 3 and u8.shape[2] == 1:
        u8 = u8[:, :, 0]
    if not (u8.ndim == 2 or (u8.ndim == 3 and u8.shape[2] in (3, 4))):
        raise ValueError(f"array_to_png needs (H, W), (H, W, 3) or (H, W, 4), not {u8.shape}")
    if min(u8.shape[:2]) < 1:
        raise ValueError(f"array_to_png needs at least one pixel, not shape {u8.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(u8)).save(buf, "PNG", compress_level=compress_level)
    return buf.getvalue()


def picture_bytes(rgb: np.ndarray) -> bytes:
    """Photos as JPEG (a tenth of a PNG), small or flat pictures as PNG."""
    if rgb.shape[0] * rgb.shape[1] <= 128 * 128:
        return array_to_png(rgb)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def upscale(a: np.ndarray, min_side: int, max_side: int = 4096) -> np.ndarray:
    """Repeat pixels (nearest neighbour) until the short side is >= min_side, the long side
    staying <= max_side: small maps stay crisp squares instead of being blurred by the browser."""
    f = max(1, -(-min_side // max(1, min(a.shape[:2]))))
    f = min(f, max(1, max_side // max(a.shape[:2])))
    return a if f == 1 else np.repeat(np.repeat(a, f, axis=0), f, axis=1)


def shrink(a: np.ndarray, side: int = 256) -> np.ndarray:
    """Block-average a big (H, W) map down to about `side` for a thumbnail."""
    f = max(1, max(a.shape) // side)
    if f == 1:
        return a
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    return a[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def tile(images: list[np.ndarray], cols: int, gap: int = 2, fill: int = 255) -> np.ndarray:
    """Lay same-size (H, W, 3) uint8 images out in a grid with `gap` pixels between them."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // cols)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), fill, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = im
    return out


def map_grid(
    maps: np.ndarray, cols: int, cmap: Cmap = None, gap: int = 2
) -> tuple[np.ndarray, Range]:
    """(C, H, W) maps -> one tiled RGB picture sharing one colour range, and that range."""
    rng = value_range(maps)
    return tile([colorize(m, cmap, rng) for m in maps], cols, gap), rng


def palette_image(idx: np.ndarray, pal: np.ndarray) -> Image.Image:
    """(H, W) uint8 palette indices and a (256, 3) uint8 palette -> a PIL "P" image."""
    idx = np.ascontiguousarray(idx, dtype=np.uint8)
    im = Image.frombuffer("P", idx.shape[::-1], idx.tobytes(), "raw", "P", 0, 1)
    im.putpalette(np.asarray(pal, dtype=np.uint8).ravel().tolist())
    return im


def map_image(
    a: np.ndarray, cmap: Cmap = None, rng: Range | None = None, min_side: int = 0
) -> tuple[Image.Image, Range]:
    """One (H, W) map as a PIL palette image of MAP_LEVELS colours, and its range."""
    rng = rng or value_range(a)
    idx = upscale(levels(a, rng, MAP_LEVELS), min_side)
    return palette_image(idx, palette(cmap_for(rng, cmap))), rng


def map_png(
    a: np.ndarray, cmap: Cmap = None, rng: Range | None = None, min_side: int = 0
) -> tuple[bytes, Range]:
    """One (H, W) map as a palette PNG (a third of an RGB PNG's bytes, and faster)."""
    im, rng = map_image(a, cmap, rng, min_side)
    return png_bytes(im, fast=True), rng


RING = (254, 255)  # palette entries for the ring around the chosen cell: black, white


def mark_cell(im: Image.Image, shape: tuple[int, int], row: int, col: int) -> None:
    """Ring one cell of a palette map image (enlarged from an (H, W) map) in black and white,
    so it shows on every colour map; a ring, not a fill, so the cell's own colour stays."""
    pal = (im.getpalette() or []) + [0] * 768
    pal = pal[:768]
    pal[3 * RING[0] : 3 * RING[0] + 3] = [0, 0, 0]
    pal[3 * RING[1] : 3 * RING[1] + 3] = [255, 255, 255]
    im.putpalette(pal)
    fy, fx = im.height / shape[0], im.width / shape[1]
    x0, y0, x1, y1 = col * fx, row * fy, (col + 1) * fx - 1, (row + 1) * fy - 1
    gap = max(2, round(min(im.size) / 80))  # the ring stands clear of a 1-pixel cell
    draw = ImageDraw.Draw(im)
    draw.rectangle(
        [x0 - gap - 2, y0 - gap - 2, x1 + gap + 2, y1 + gap + 2], outline=RING[0], width=2
    )
    draw.rectangle([x0 - gap, y0 - gap, x1 + gap, y1 + gap], outline=RING[1], width=1)


def marked_map_png(
    a: np.ndarray, cmap: Cmap, cell: tuple[int, int], min_side: int = 0
) -> tuple[bytes, Range]:
    """A map as a palette PNG with one cell ringed (`mark_cell`): the clickable feature map."""
    im, rng = map_image(a, cmap, None, min_side)
    mark_cell(im, a.shape, cell[0], cell[1])
    return png_bytes(im, fast=True), rng


@functools.lru_cache(maxsize=16)
def colorbar_png(cmap: str, width: int = 256, height: int = 10) -> bytes:
    """A horizontal colour bar as PNG bytes (cached: a handful of colour maps exist)."""
    return array_to_png(colorbar(cmap, width, height))
