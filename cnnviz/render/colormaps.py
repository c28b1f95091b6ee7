"""Colour maps for feature maps: diverging and centred on 0 when signed, sequential otherwise.

Values -> colours (`colorize`, `levels` + `palette`), the range a map spans (`value_range`), and
the one sentence that says what the colours mean (`range_caption`).

Defaults are colour-blind-safe (cividis; blue-to-red RdBu for signs). The stops come from
plotly's colour scales (`plotly.colors`: the data only; no page draws a plotly chart any more).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.colors as pc

SEQUENTIAL = ("cividis", "viridis", "gray", "magma")
DIVERGING = ("RdBu_r", "PuOr_r", "BrBG")
DEFAULT_SEQUENTIAL, DEFAULT_DIVERGING = "cividis", "RdBu_r"
Cmap = str | Mapping[str, str] | None  # a name, a {"div", "seq"} choice by sign, or the defaults


def rgb(color: str) -> tuple[int, int, int]:
    """A plotly colour ("#rrggbb" or "rgb(r, g, b)") as an (r, g, b) tuple of ints."""
    if color.startswith("#"):
        return pc.hex_to_rgb(color)
    return tuple(int(float(v)) for v in color[color.index("(") + 1 : -1].split(","))[:3]  # type: ignore[return-value]


@lru_cache(maxsize=32)
def _stops(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "gray":
        return np.array([0.0, 1.0]), np.array([[0, 0, 0], [255, 255, 255]], dtype=float)
    scale = pc.get_colorscale(name)
    pos = np.array([p for p, _ in scale], dtype=float)
    colors = np.array([rgb(c) for _, c in scale], dtype=float)
    return pos, colors


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


def shared_range(*maps: np.ndarray) -> Range:
    """One colour range for several maps, so equal colours mean equal numbers."""
    return value_range(np.concatenate([np.ravel(m) for m in maps]))


def cmap_for(rng: Range, cmap: Cmap = None) -> str:
    """The colour map for `rng`: a name as given; from a choice {"div": ..., "seq": ...} the
    diverging one when signed, else the sequential one; none given: the defaults."""
    if isinstance(cmap, str) and cmap:
        return cmap
    choice = cmap or {}
    if rng.signed:
        return choice.get("div", DEFAULT_DIVERGING)
    return choice.get("seq", DEFAULT_SEQUENTIAL)


def range_caption(rng: Range) -> str:
    """What the colours of a map on `rng` mean, in words (under colour bars and in alt texts)."""
    if rng.signed:
        return f"blue −{rng.vmax:.3g} · white 0 · red +{rng.vmax:.3g}"
    return f"dark {rng.vmin:.3g} → bright {rng.vmax:.3g}"


def colorize(a: np.ndarray, cmap: Cmap = None, rng: Range | None = None) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 through a colour map (see `cmap_for`); NaN: mid grey."""
    a = np.asarray(a, dtype=np.float64)
    rng = rng or value_range(a)
    t = np.clip((a - rng.vmin) / (rng.vmax - rng.vmin), 0.0, 1.0)
    pos, stops = _stops(cmap_for(rng, cmap))
    out = np.stack([np.interp(t, pos, stops[:, ch]) for ch in range(3)], axis=-1)
    out[~np.isfinite(a)] = 128
    return np.round(out).astype(np.uint8)


def palette(cmap: str) -> np.ndarray:
    """The colour map sampled at 256 levels: (256, 3) uint8."""
    return colorize(np.linspace(0.0, 1.0, 256), cmap, Range(0.0, 1.0, False))


MAP_LEVELS = 64  # colours per map picture: 64 halves the PNG of a noisy map; exact values are
# one click away (the trace), the picture only has to show the pattern


def levels(a: np.ndarray, rng: Range, n: int = 256) -> np.ndarray:
    """Values -> palette indices 0..255 in `n` evenly spaced steps (NaN -> the middle)."""
    a = np.asarray(a, dtype=np.float32)
    t = (a - np.float32(rng.vmin)) * np.float32((n - 1) / (rng.vmax - rng.vmin))
    t = np.nan_to_num(t, nan=(n - 1) / 2, posinf=n - 1, neginf=0.0)
    step = np.clip(np.rint(t), 0, n - 1).astype(np.uint16)
    return (step * 255 // (n - 1)).astype(np.uint8)


def colorbar(cmap: str, width: int = 256, height: int = 14) -> np.ndarray:
    """A horizontal colour bar, low values on the left: (height, width, 3) uint8."""
    row = palette(cmap)[np.linspace(0, 255, width).round().astype(int)]
    return np.repeat(row[None], height, axis=0)
