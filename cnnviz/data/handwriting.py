"""28x28 handwritten-looking digits drawn from stroke templates with a writer's variation.

Each digit has one or more templates (a 7 with or without its bar, an open or closed 4, ...):
strokes as control points in a unit box (x right, y down). One sample = a template whose points
wobble a little, then a random slant, rotation, scale, aspect and shift, a pen width, drawn
anti-aliased (2x supersampled), bent by a smooth elastic field, with ink level and noise.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from cnnviz.data.core import cut_tiles

SIZE = 28
_SS = 2  # supersampling factor for anti-aliased strokes


def _arc(cx, cy, rx, ry, a0, a1, n=14):
    """Points on an ellipse arc, angles in degrees, 0 = right, 90 = down (image y)."""
    t = np.deg2rad(np.linspace(a0, a1, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


def _eight(n=40):
    """A one-stroke 8: a vertical figure-of-eight from the top, crossing in the middle."""
    t = np.linspace(0.15, 2 * np.pi + 0.15, n)
    return [(0.5 + 0.2 * math.sin(2 * a), 0.5 - 0.34 * math.cos(a)) for a in t]


# Each template: a list of strokes; a stroke: a list of (x, y) points joined by straight
# pieces (arcs are finely sampled). The box is [0, 1] x [0, 1]; digits use about 0.15..0.85.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [
        [_arc(0.5, 0.5, 0.26, 0.36, -90, 275, 24)],
        [_arc(0.5, 0.5, 0.22, 0.37, -100, 265, 24)],
    ],
    1: [
        [[(0.5, 0.14), (0.5, 0.86)]],
        [[(0.36, 0.3), (0.52, 0.14), (0.52, 0.86)]],
        [[(0.38, 0.28), (0.52, 0.14), (0.52, 0.86)], [(0.36, 0.86), (0.68, 0.86)]],
    ],
    2: [
        [_arc(0.5, 0.36, 0.24, 0.22, 200, 360, 10) + [(0.7, 0.5), (0.26, 0.86), (0.78, 0.86)]],
        [
            _arc(0.5, 0.34, 0.24, 0.2, 190, 380, 12)
            + [(0.42, 0.62), (0.26, 0.84), (0.45, 0.78), (0.78, 0.86)]
        ],
    ],
    3: [
        [_arc(0.48, 0.32, 0.22, 0.18, 200, 450, 14) + _arc(0.48, 0.67, 0.25, 0.2, -90, 160, 14)],
        [[(0.28, 0.16), (0.72, 0.16), (0.46, 0.46)] + _arc(0.48, 0.66, 0.25, 0.2, -80, 160, 12)],
    ],
    4: [
        [[(0.56, 0.14), (0.24, 0.62), (0.8, 0.62)], [(0.64, 0.36), (0.64, 0.88)]],
        [[(0.3, 0.14), (0.28, 0.58), (0.78, 0.58)], [(0.66, 0.14), (0.66, 0.88)]],
    ],
    5: [
        [[(0.74, 0.15), (0.34, 0.15), (0.3, 0.46)] + _arc(0.5, 0.64, 0.24, 0.22, -130, 150, 16)],
        [
            [(0.34, 0.15), (0.3, 0.46)] + _arc(0.5, 0.64, 0.24, 0.22, -130, 150, 16),
            [(0.34, 0.15), (0.74, 0.14)],
        ],
    ],
    6: [
        [[(0.66, 0.14), (0.4, 0.42)] + _arc(0.5, 0.66, 0.22, 0.2, 200, 560, 22)],
        [_arc(0.72, 0.52, 0.42, 0.38, 235, 180, 8) + _arc(0.5, 0.67, 0.2, 0.19, 180, 540, 20)],
    ],
    7: [
        [[(0.24, 0.16), (0.78, 0.16), (0.42, 0.86)]],
        [[(0.24, 0.16), (0.78, 0.16), (0.42, 0.86)], [(0.38, 0.5), (0.7, 0.5)]],
        [[(0.26, 0.22), (0.3, 0.16), (0.78, 0.16), (0.56, 0.5), (0.48, 0.86)]],
    ],
    8: [
        [
            _arc(0.5, 0.32, 0.2, 0.17, 0, 360, 18),
            _arc(0.5, 0.67, 0.24, 0.19, 0, 360, 18),
        ],
        [_eight()],
    ],
    9: [
        [_arc(0.5, 0.35, 0.22, 0.2, 0, 360, 20) + [(0.72, 0.35), (0.68, 0.86)]],
        [_arc(0.48, 0.34, 0.22, 0.19, 10, 370, 20) + [(0.66, 0.6), (0.5, 0.86)]],
    ],
}


def _transforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 2, 3) affine maps from the unit box to pixel coordinates, one writer each: slant,
    tilt, height, aspect and position."""
    slant = rng.uniform(-0.3, 0.3, n)
    angle = np.deg2rad(rng.uniform(-8, 8, n))
    height = rng.uniform(17.5, 22, n)
    width = height * rng.uniform(0.8, 1.1, n)
    c, s = np.cos(angle), np.sin(angle)
    # rotation @ shear(x by -slant * y) @ diag(width, height)
    m = np.empty((n, 2, 3))
    m[:, 0, 0] = c * width
    m[:, 0, 1] = (-c * slant - s) * height
    m[:, 1, 0] = s * width
    m[:, 1, 1] = (-s * slant + c) * height
    centre = SIZE / 2 + rng.uniform(-2, 2, (n, 2))
    m[:, :, 2] = centre - 0.5 * (m[:, :, 0] + m[:, :, 1])
    return m


class _Template:
    """One way of writing a digit, flattened for fast drawing: all points in one array, where
    each stroke starts and ends, and which points are sharp corners (drawn with a round pen)."""

    def __init__(self, strokes: list[list[tuple[float, float]]]):
        self.points = np.concatenate([np.asarray(st, dtype=np.float64) for st in strokes])
        ends = np.cumsum([len(st) for st in strokes]).tolist()
        self.bounds = list(zip([0, *ends[:-1]], ends))
        dots: list[int] = []
        for a, b in self.bounds:
            d = np.diff(self.points[a:b], axis=0)
            norm = np.hypot(d[:, 0], d[:, 1])
            cos = (d[:-1] * d[1:]).sum(1) / (norm[:-1] * norm[1:] + 1e-12)
            dots += [a, *(a + 1 + np.flatnonzero(cos < 0.9)).tolist(), b - 1]
        self.dots = np.asarray(dots)


_TEMPLATES = {d: [_Template(t) for t in ts] for d, ts in TEMPLATES.items()}
_MARGIN = 8  # pixels around each 28x28 tile on the drawing canvas, so strokes never bleed
_TILE = SIZE + 2 * _MARGIN


def _draw_all(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """(n, 28, 28) float32 ink, before elastic distortion and noise: every digit drawn into its
    own tile of one supersampled canvas, then the canvas shrunk once."""
    n = len(y)
    maps = _transforms(rng, n) * _SS
    maps[:, :, 2] += _MARGIN * _SS
    pens = rng.uniform(1.6, 3.2, n) * _SS
    wobbles = rng.normal(0, 0.025, (n, 2))
    choice = rng.random(n)
    per_canvas, cols, t = 256, 16, _TILE * _SS
    k = np.arange(n) % per_canvas
    maps[:, 0, 2] += (k % cols) * t  # each digit in its own tile of its canvas
    maps[:, 1, 2] += (k // cols) * t
    # where every point of every digit lands, one template group at a time (vectorised)
    template = np.empty(n, dtype=object)
    strokes: list = [None] * n
    dots: list = [None] * n
    for d, options in _TEMPLATES.items():
        for j, tpl in enumerate(options):
            sel = np.flatnonzero((y == d) & ((choice * len(options)).astype(int) == j))
            if not len(sel):
                continue
            pts = (
                tpl.points[None]
                + wobbles[sel, None]
                + rng.normal(0, 0.012, (len(sel), *tpl.points.shape))
            )
            xy = np.einsum("mkj,mij->mki", pts, maps[sel, :, :2]) + maps[sel, None, :, 2]
            r = pens[sel, None, None] / 2
            boxes = np.concatenate([xy[:, tpl.dots] - r, xy[:, tpl.dots] + r], axis=2)
            for m, i in enumerate(sel.tolist()):
                template[i] = tpl
                strokes[i] = [xy[m, a:b].ravel().tolist() for a, b in tpl.bounds]
                dots[i] = boxes[m].tolist()
    widths = np.maximum(1, np.round(pens)).astype(int).tolist()
    out = np.empty((n, SIZE, SIZE), np.float32)
    for start in range(0, n, per_canvas):
        count = min(per_canvas, n - start)
        rows = -(-count // cols)
        canvas = Image.new("L", (cols * t, rows * t), 0)
        draw = ImageDraw.Draw(canvas)
        for i in range(start, start + count):
            for line in strokes[i]:
                draw.line(line, fill=255, width=widths[i])
            for box in dots[i]:
                draw.ellipse(box, fill=255)
        out[start : start + count] = cut_tiles(canvas, rows, cols, count, _TILE, _MARGIN)
    return out


def _bicubic_matrix(knots: int, size: int) -> torch.Tensor:
    """(size, knots) weights of torch's bicubic enlargement (align_corners=True) along one axis:
    column j is what an impulse at knot j becomes."""
    impulses = torch.zeros(knots, 1, 1, knots)
    impulses[torch.arange(knots), 0, 0, torch.arange(knots)] = 1.0
    out = F.interpolate(
        impulses.expand(knots, 1, 4, knots), size=(4, size), mode="bicubic", align_corners=True
    )
    return out[:, 0, 0, :].T.contiguous()


def _elastic(x: torch.Tensor, gen: torch.Generator, alpha: float = 0.9, knots: int = 4):
    """Bend each image by a smooth random displacement field of about `alpha` pixels (as in
    Simard et al. 2003); the field is random on a `knots` x `knots` grid, bicubically enlarged."""
    n, _, h, w = x.shape
    field = torch.randn(n, 2, knots, knots, generator=gen)
    # bicubic enlargement is separable: one (size, knots) matrix per axis, applied as matmuls
    rows, cols = _bicubic_matrix(knots, h), _bicubic_matrix(knots, w)
    field = torch.einsum("ik,nckl,jl->ncij", rows, field, cols)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    base = torch.stack([xs, ys], dim=-1)[None]
    shift = field.permute(0, 2, 3, 1) * (alpha * 2 / (w - 1))
    return F.grid_sample(x, base + shift, align_corners=True, padding_mode="zeros")


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` digits, classes in turn then shuffled: ((n, 1, 28, 28) float32 in [0, 1], labels)."""
    seq = np.random.SeedSequence(seed)
    rng = np.random.default_rng(seq)
    y = rng.permutation(np.arange(n) % 10)
    ink = _draw_all(rng, y)[:, None]
    gen = torch.Generator().manual_seed(int(seq.generate_state(1)[0]))
    x = _elastic(torch.from_numpy(ink), gen).numpy()
    x *= rng.uniform(0.75, 1.0, (n, 1, 1, 1)).astype(np.float32)  # ink level
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    noise *= rng.uniform(0.0, 0.06, (n, 1, 1, 1)).astype(np.float32)
    x += noise
    return np.clip(x, 0, 1, out=x), y.astype(np.int64)
