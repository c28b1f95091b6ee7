"""Colour maps for feature maps: diverging and centred on 0 when signed, sequential otherwise.

Defaults are colour-blind-safe (cividis; blue-to-red RdBu for signs). The stops come from
plotly's colour scales, so a PNG drawn here and a plotly heatmap of the same map look the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.colors as pc

SEQUENTIAL = ("cividis", "viridis", "gray", "magma")
DIVERGING = ("RdBu_r", "PuOr_r", "BrBG")
DEFAULT_SEQUENTIAL, DEFAULT_DIVERGING = "cividis", "RdBu_r"


def _rgb(color: str) -> tuple[int, int, int]:
    if color.startswith("#"):
        return pc.hex_to_rgb(color)
    return tuple(int(float(v)) for v in color[color.index("(") + 1 : -1].split(","))[:3]  # type: ignore[return-value]


@lru_cache(maxsize=32)
def _stops(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "gray":
        return np.array([0.0, 1.0]), np.array([[0, 0, 0], [255, 255, 255]], dtype=float)
    scale = pc.get_colorscale(name)
    pos = np.array([p for p, _ in scale], dtype=float)
    rgb = np.array([_rgb(c) for _, c in scale], dtype=float)
    return pos, rgb


def plotly_scale(name: str) -> list:
    """The colour map as a plotly colorscale (for heatmaps that must match the PNGs)."""
    return "gray" if name == "gray" else pc.get_colorscale(name)


@dataclass(frozen=True)
class Range:
    """The value range a colour map spans, and whether it is centred on 0."""

    vmin: float
    vmax: float
    signed: bool


def value_range(a: np.ndarray, signed: bool | None = None) -> Range:
    """Symmetric ±max|a| for signed maps (0 sits in the middle colour), [min, max] otherwise."""
    finite = np.asarray(a)[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if signed is None:
        signed = lo < 0
    if signed:
        m = max(abs(lo), abs(hi)) or 1.0
        return Range(-m, m, True)
    return Range(lo, hi if hi > lo else lo + 1.0, False)


def colorize(a: np.ndarray, cmap: str | None = None, rng: Range | None = None) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 through a colour map; NaN shows as mid grey."""
    a = np.asarray(a, dtype=np.float64)
    rng = rng or value_range(a)
    cmap = cmap or (DEFAULT_DIVERGING if rng.signed else DEFAULT_SEQUENTIAL)
    t = np.clip((a - rng.vmin) / (rng.vmax - rng.vmin), 0.0, 1.0)
    pos, rgb = _stops(cmap)
    out = np.stack([np.interp(t, pos, rgb[:, ch]) for ch in range(3)], axis=-1)
    out[~np.isfinite(a)] = 128
    return np.round(out).astype(np.uint8)


def tile(images: list[np.ndarray], cols: int, gap: int = 2, fill: int = 255) -> np.ndarray:
    """Lay same-size (H, W, 3) uint8 images out in a grid with `gap` pixels between them."""
    h, w = images[0].shape[:2]
    rows = -(-len(images) // cols)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), fill, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = im
    return out


def map_grid(maps: np.ndarray, cols: int, cmap: str | None = None) -> tuple[np.ndarray, Range]:
    """(C, H, W) maps -> one tiled RGB picture sharing one colour range, and that range."""
    rng = value_range(maps)
    return tile([colorize(m, cmap, rng) for m in maps], cols), rng


def palette(cmap: str) -> np.ndarray:
    """The colour map sampled at 256 levels: (256, 3) uint8."""
    pos, rgb = _stops(cmap)
    t = np.linspace(0.0, 1.0, 256)
    return np.round(np.stack([np.interp(t, pos, rgb[:, ch]) for ch in range(3)], axis=-1)).astype(
        np.uint8
    )


MAP_LEVELS = 64  # colours per map picture: 64 halves the PNG of a noisy map; exact values are
# one click away (the trace), the picture only has to show the pattern


def levels(a: np.ndarray, rng: Range, n: int = 256) -> np.ndarray:
    """Values -> palette indices 0..255 in `n` evenly spaced steps (NaN -> the middle)."""
    a = np.asarray(a, dtype=np.float32)
    t = (a - np.float32(rng.vmin)) * np.float32((n - 1) / (rng.vmax - rng.vmin))
    t = np.nan_to_num(t, nan=(n - 1) / 2, posinf=n - 1, neginf=0.0)
    step = np.clip(np.rint(t), 0, n - 1).astype(np.uint16)
    return (step * 255 // (n - 1)).astype(np.uint8)


def upscale(a: np.ndarray, min_side: int) -> np.ndarray:
    """Repeat pixels (nearest neighbour) until the short side is >= min_side: small maps stay
    crisp squares instead of being blurred by the browser."""
    f = max(1, -(-min_side // max(1, min(a.shape[:2]))))
    f = min(f, max(1, 4096 // max(a.shape[:2])))
    return a if f == 1 else np.repeat(np.repeat(a, f, axis=0), f, axis=1)


def map_image(a: np.ndarray, cmap: str | None = None, rng: Range | None = None, min_side: int = 0):
    """One (H, W) map as a PIL palette image of MAP_LEVELS colours, and its range."""
    from PIL import Image

    rng = rng or value_range(a)
    cmap = cmap or (DEFAULT_DIVERGING if rng.signed else DEFAULT_SEQUENTIAL)
    idx = np.ascontiguousarray(upscale(levels(a, rng, MAP_LEVELS), min_side))
    im = Image.frombuffer("P", idx.shape[::-1], idx.tobytes(), "raw", "P", 0, 1)
    im.putpalette(palette(cmap).ravel().tolist())
    return im, rng


def map_png(
    a: np.ndarray, cmap: str | None = None, rng: Range | None = None, min_side: int = 0
) -> tuple[bytes, Range]:
    """One (H, W) map as a palette PNG (a third of an RGB PNG's bytes, and faster)."""
    import io

    im, rng = map_image(a, cmap, rng, min_side)
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue(), rng


def colorbar(cmap: str, width: int = 256, height: int = 14) -> np.ndarray:
    """A horizontal colour bar, low values on the left: (height, width, 3) uint8."""
    row = palette(cmap)[np.linspace(0, 255, width).round().astype(int)]
    return np.repeat(row[None], height, axis=0)
