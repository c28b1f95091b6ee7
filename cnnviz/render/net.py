"""A net's arrays as pictures (numpy -> PNG bytes): one sample, a layer's maps as small
multiples, conv filters, a weight matrix, a histogram. Small palette PNGs, cached per snapshot
by the Train page."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from cnnviz.render.colormaps import (
    DEFAULT_DIVERGING,
    DEFAULT_SEQUENTIAL,
    MAP_LEVELS,
    Range,
    levels,
    palette,
    value_range,
)
from cnnviz.render.png import array_to_png, tile, to_uint8, upscale

MAX_CHANNELS = 64  # small multiples per layer; more channels are summarised in the caption


def sample_png(x: np.ndarray, min_side: int = 96) -> bytes:
    """One (C, H, W) image in [0, 1] as a PNG, pixels enlarged to stay sharp."""
    x = np.asarray(x, dtype=np.float32)
    img = x[0] if x.shape[0] == 1 else x[:3].transpose(1, 2, 0)
    return array_to_png(upscale(np.clip(img, 0, 1), min_side))


def grid_cols(n: int, max_cols: int = 8) -> int:
    return max(1, min(max_cols, math.ceil(math.sqrt(n))))


GAP, BLANK = 1, 2  # palette entries the colour levels never use: white gaps, grey blanks


def grid_png(
    maps: np.ndarray,
    rng: Range,
    cols: int,
    min_side: int = 0,
    gap: int = 2,
    factor: int | None = None,
) -> bytes:
    """(N, h, w) maps sharing one colour range, tiled `cols` wide, as one palette PNG (about a
    third of an RGB PNG's bytes, and faster to make). NaN cells are drawn grey."""
    maps = np.asarray(maps, dtype=np.float32)
    n, h, w = maps.shape
    idx = levels(maps, rng, MAP_LEVELS)
    idx[~np.isfinite(maps)] = BLANK
    f = factor or max(1, -(-min_side // max(1, min(h, w))))
    if f > 1:
        idx = np.repeat(np.repeat(idx, f, axis=1), f, axis=2)
    h, w = h * f, w * f
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), GAP, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = idx[i]
    pal = palette(DEFAULT_DIVERGING if rng.signed else DEFAULT_SEQUENTIAL).copy()
    pal[GAP], pal[BLANK] = (255, 255, 255), (200, 200, 200)
    im = Image.frombuffer("P", out.shape[::-1], out.tobytes(), "raw", "P", 0, 1)
    im.putpalette(pal.ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def maps_png(values: np.ndarray, min_side: int = 44) -> tuple[bytes, Range, str]:
    """One layer's output as small multiples: (C, H, W) maps share one colour range; a vector
    (N,) becomes rows of 32 cells. Returns PNG bytes, the range, and a note on what is shown."""
    v = np.asarray(values, dtype=np.float32)
    note = ""
    if v.ndim == 3:
        c = v.shape[0]
        if c > MAX_CHANNELS:
            note = f"first {MAX_CHANNELS} of {c} channels"
            v = v[:MAX_CHANNELS]
        rng = value_range(v)
        return grid_png(v, rng, grid_cols(len(v), 16), min_side), rng, note
    flat = v.reshape(-1)
    if flat.size > 1024:
        note = f"first 1024 of {flat.size} values"
        flat = flat[:1024]
    cols = min(32, flat.size)
    rows = -(-flat.size // cols)
    padded = np.full(rows * cols, np.nan, np.float32)
    padded[: flat.size] = flat
    rng = value_range(flat)
    return grid_png(padded.reshape(1, rows, cols), rng, 1, factor=10), rng, note


def filters_png(
    w: np.ndarray, max_filters: int = 64, max_inputs: int = 16, cell: int = 24, rgb: bool = False
) -> tuple[bytes, Range, str]:
    """Conv weights (out, in, kh, kw). rgb (a first layer on colour images): each filter as one
    colour picture, grey = 0. Otherwise one row per filter and one column per input channel
    (a single input channel: the filters side by side), signed colours centred on 0."""
    w = np.asarray(w, dtype=np.float32)
    out, cin = w.shape[:2]
    note = []
    if out > max_filters:
        note.append(f"first {max_filters} of {out} filters")
        w = w[:max_filters]
    rng = value_range(w, signed=True)
    if rgb and cin == 3:
        m = rng.vmax or 1.0
        cells = [upscale(to_uint8(0.5 + f.transpose(1, 2, 0) / (2 * m)), 44) for f in w]
        return array_to_png(tile(cells, min(len(cells), 16), gap=6)), rng, ", ".join(note)
    if cin > max_inputs:
        note.append(f"first {max_inputs} of {cin} input channels")
        w = w[:, :max_inputs]
    n, cin, kh, kw = w.shape
    cols = cin if cin > 1 else min(n, 16)
    png = grid_png(
        w.reshape(n * cin, kh, kw), rng, cols, cell if cin > 1 else 44, gap=3 if cin > 1 else 6
    )
    return png, rng, ", ".join(note)


def matrix_png(w: np.ndarray, max_inputs: int = 1024) -> tuple[bytes, Range, str]:
    """A linear layer's weight matrix (out, in) as one picture (rows are output units)."""
    w = np.asarray(w, dtype=np.float32)
    note = ""
    if w.shape[1] > max_inputs:
        note = f"first {max_inputs} of {w.shape[1]} inputs"
        w = w[:, :max_inputs]
    rng = value_range(w, signed=True)
    fy = 8 if w.shape[0] <= 16 else 3 if w.shape[0] <= 128 else 1
    fx = int(min(8, max(1, 600 // w.shape[1])))
    idx = np.repeat(np.repeat(w, fy, axis=0), fx, axis=1)
    return grid_png(idx[None], rng, 1), rng, note


def histogram_png(
    counts: np.ndarray, width: int = 180, height: int = 48, color=(31, 119, 180)
) -> bytes:
    """Bars of a histogram as a small PNG (cheaper for the browser than a chart per layer)."""
    counts = np.asarray(counts, dtype=np.float64)
    img = np.full((height, width, 3), 255, np.uint8)
    if counts.size == 0 or counts.max() <= 0:
        return array_to_png(img)
    bins = counts.size
    xs = (np.arange(width) * bins // width).clip(0, bins - 1)
    heights = np.round(counts[xs] / counts.max() * (height - 1)).astype(int)
    rows = np.arange(height)[:, None]
    mask = rows >= (height - heights)[None, :]
    mask &= (counts[xs] > 0)[None, :]
    img[mask] = color
    img[-1, :] = (160, 160, 160)
    return array_to_png(img)
