"""32x32 colour pictures of shapes on textured backgrounds: the class is the shape alone.

Colours are random (shape and background differ in hue or brightness), so a net must find
edges and corners across colour channels: the first layer's RGB filters become colour-opponent
edge detectors rather than plain gray ones.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from cnnviz.data.core import cut_tiles

SIZE = 32
CLASSES = ("circle", "square", "triangle", "star", "cross")
# the 10-class set (`shapes10`): the same five, then five more; ring and crescent are drawn as a
# disc with a hole or a bite, the others as polygons
CLASSES10 = (*CLASSES, "diamond", "ring", "crescent", "hexagon", "arrow")
_SS = 4  # supersampling for smooth shape edges
_MARGIN = 4
_TILE = SIZE + 2 * _MARGIN


def _outline(kind: int, cx: float, cy: float, r: float, turn: float) -> list[float] | None:
    """Polygon points (flat x, y list) of shape `kind` (an index into CLASSES10) of
    circumradius about r, or None for a circle."""
    if kind == 0:
        return None
    if kind == 1:
        corners = [turn + math.pi / 4 + k * math.pi / 2 for k in range(4)]
        radii = [r] * 4
    elif kind == 2:
        corners = [turn - math.pi / 2 + k * 2 * math.pi / 3 for k in range(3)]
        radii = [r * 1.1] * 3
    elif kind == 3:
        corners = [turn - math.pi / 2 + k * math.pi / 5 for k in range(10)]
        radii = [r * 1.1 if k % 2 == 0 else r * 0.45 for k in range(10)]
    elif kind == 5:  # diamond: a rhombus taller than wide
        corners = [turn - math.pi / 2 + k * math.pi / 2 for k in range(4)]
        radii = [r * 1.15, r * 0.6, r * 1.15, r * 0.6]
    elif kind == 8:  # hexagon
        corners = [turn + k * math.pi / 3 for k in range(6)]
        radii = [r] * 6
    elif kind == 9:  # an arrow pointing up: a triangular head on a shaft
        base = [
            (0, -r),
            (0.8 * r, -0.1 * r),
            (0.3 * r, -0.1 * r),
            (0.3 * r, r),
            (-0.3 * r, r),
            (-0.3 * r, -0.1 * r),
            (-0.8 * r, -0.1 * r),
        ]
        c, s = math.cos(turn), math.sin(turn)
        return [v for x, y in base for v in (cx + c * x - s * y, cy + s * x + c * y)]
    elif kind == 4:  # a plus sign: 12 corners with arms a third of the width
        a = r * 0.95
        b = a / 3
        base = [(b, a), (b, b), (a, b), (a, -b), (b, -b), (b, -a)]
        base += [(-x, -y) for x, y in base]
        c, s = math.cos(turn), math.sin(turn)
        return [v for x, y in base for v in (cx + c * x - s * y, cy + s * x + c * y)]
    return [
        v for t, rr in zip(corners, radii) for v in (cx + rr * math.cos(t), cy + rr * math.sin(t))
    ]


def _masks(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """(n, 32, 32) float32 coverage of each shape, drawn supersampled on shared canvases."""
    n = len(y)
    r = rng.uniform(7.5, 12.5, n)
    cx = SIZE / 2 + rng.uniform(-1, 1, n) * (SIZE / 2 - r - 1) * 0.6
    cy = SIZE / 2 + rng.uniform(-1, 1, n) * (SIZE / 2 - r - 1) * 0.6
    turn = rng.uniform(-0.26, 0.26, n)  # upright, give or take 15 degrees
    squash = rng.uniform(0.85, 1.0, n)  # circles slightly elliptic now and then
    out = np.empty((n, SIZE, SIZE), np.float32)
    per_canvas, cols, t = 256, 16, _TILE * _SS
    for start in range(0, n, per_canvas):
        count = min(per_canvas, n - start)
        rows = -(-count // cols)
        canvas = Image.new("L", (cols * t, rows * t), 0)
        draw = ImageDraw.Draw(canvas)
        for k in range(count):
            i = start + k
            ox, oy = (k % cols) * t + _MARGIN * _SS, (k // cols) * t + _MARGIN * _SS
            x, yy, rr = ox + cx[i] * _SS, oy + cy[i] * _SS, r[i] * _SS
            kind = int(y[i])
            if kind in (6, 7):  # ring: a disc with a hole; crescent: a disc with a bite
                draw.ellipse((x - rr, yy - rr, x + rr, yy + rr), fill=255)
                h = rr * (0.55 if kind == 6 else 0.85)
                dx = 0.0 if kind == 6 else rr * 0.55 * math.cos(turn[i])
                dy = 0.0 if kind == 6 else rr * 0.55 * math.sin(turn[i])
                draw.ellipse((x + dx - h, yy + dy - h, x + dx + h, yy + dy + h), fill=0)
                continue
            poly = _outline(kind, x, yy, rr, turn[i])
            if poly is None:
                rx, ry = rr, rr * squash[i]
                draw.ellipse((x - rx, yy - ry, x + rx, yy + ry), fill=255)
            else:
                draw.polygon(poly, fill=255)
        out[start : start + count] = cut_tiles(canvas, rows, cols, count, _TILE, _MARGIN)
    return out


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, all in [0, 1]; returns (..., 3)."""
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ]
    )
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def _backgrounds(rng: np.random.Generator, n: int, hue: np.ndarray) -> np.ndarray:
    """(n, 3, 32, 32) float32 textures: gradients, stripes, checks and blotches in two colours
    each, of hue `hue` and a neighbouring hue."""
    c = (np.arange(SIZE) - (SIZE - 1) / 2).astype(np.float32)
    yy, xx = np.meshgrid(c, c, indexing="ij")
    kind = rng.integers(0, 4, n)
    ang = rng.uniform(0, math.pi, n).astype(np.float32)[:, None, None]
    period = rng.uniform(5, 12, n).astype(np.float32)[:, None, None]
    phase = rng.uniform(0, 2 * math.pi, n).astype(np.float32)[:, None, None]
    coarse = torch.from_numpy(rng.random((n, 1, 5, 5), dtype=np.float32))
    mix = np.empty((n, SIZE, SIZE), np.float32)
    for k in range(4):
        sel = np.flatnonzero(kind == k)
        a, p, f = ang[sel], period[sel], phase[sel]
        along = np.cos(a) * xx + np.sin(a) * yy
        if k == 0:  # a linear gradient
            mix[sel] = 0.5 + along / SIZE
        elif k == 1:  # soft stripes
            mix[sel] = 0.5 + 0.5 * np.sin(2 * math.pi * along / p + f)
        elif k == 2:  # a turned checkerboard
            across = -np.sin(a) * xx + np.cos(a) * yy
            mix[sel] = (np.floor(along / p * 1.5 + f) + np.floor(across / p * 1.5)) % 2
        else:  # smooth blotches: random 5x5 values, bicubically enlarged
            big = F.interpolate(coarse[sel], size=(SIZE, SIZE), mode="bicubic", align_corners=True)
            mix[sel] = big[:, 0].numpy()
    amp = rng.uniform(0.3, 0.8, (n, 1, 1)).astype(np.float32)  # texture strength
    mix = np.clip(0.5 + (mix - 0.5) * amp, 0, 1)[:, None]
    sat = rng.uniform(0.15, 0.6, (n, 1)) + rng.uniform(-0.15, 0.15, (n, 2)) * [0, 1]
    val = rng.uniform(0.3, 0.65, (n, 1)) + rng.uniform(-0.2, 0.2, (n, 2)) * [0, 1]
    sat, val = np.clip(sat, 0, 1), np.clip(val, 0, 1)
    hues = np.stack([hue, (hue + rng.uniform(-0.12, 0.12, n)) % 1], 1)
    pair = _hsv_to_rgb(hues, sat, val).astype(np.float32)  # (n, 2, 3)
    a = pair[:, 0, :, None, None]
    b = pair[:, 1, :, None, None]
    return a + (b - a) * mix


def generate(n: int, seed: int, n_classes: int = len(CLASSES)) -> tuple[np.ndarray, np.ndarray]:
    """`n` pictures, classes in turn then shuffled: ((n, 3, 32, 32) float32 in [0, 1], labels).
    n_classes 5 draws CLASSES, 10 draws CLASSES10 (the first five are the same shapes)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    y = rng.permutation(np.arange(n) % n_classes)
    mask = _masks(rng, y)[:, None]
    hue = rng.random(n)
    bg = _backgrounds(rng, n, hue)
    # the shape: mostly a vivid, bright colour a quarter to three quarters of a hue turn away
    # from the muted background; one in five is nearly black instead
    dark = rng.random(n) < 0.2
    shape_hue = (hue + rng.uniform(0.25, 0.75, n)) % 1
    shape_val = np.where(dark, rng.uniform(0.0, 0.12, n), rng.uniform(0.75, 1.0, n))
    colour = _hsv_to_rgb(shape_hue, rng.uniform(0.6, 1.0, n), shape_val)
    x = bg + (colour.astype(np.float32)[:, :, None, None] - bg) * mask
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    x += noise * rng.uniform(0.0, 0.05, (n, 1, 1, 1)).astype(np.float32)
    return np.clip(x, 0, 1, out=x), y.astype(np.int64)
