"""Curated lesson links: a page, the settings it opens with, the controls it hides, one sentence.

A teacher shares `lesson.url` (`/convolution?s=2&p=1&pool=None&hide=s,p`): the page opens in
exactly that state, and the hidden controls are named on screen as fixed by the lesson. Each
lesson also draws its own thumbnail with the engine, from its own settings (tiny RGB arrays, no
files, no torch), so Home's gallery shows what the link will show.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np

from cnnviz import ops
from cnnviz.kernels import preset
from cnnviz.render.colormaps import colorize, value_range
from cnnviz.render.png import tile, upscale
from cnnviz.shapes import output_size

THUMB = 96  # pixels a side: small enough for a gallery of ten on one screen

KERAS = "conv32k3-relu-max2-conv64k3-relu-max2-conv64k3-relu-flat-fc64-relu-fc"
WORKED_INPUT = "0 1 2; 3 4 5; 6 7 8"  # the seed's worked example: 3x3 input 0..8
WORKED_KERNEL = "0 1; 2 3"  # with a 2x2 kernel: 19, 25, 37, 43


@dataclass(frozen=True)
class Lesson:
    """One shareable link: `page` is the page file's stem, `params` its URL settings."""

    slug: str
    title: str
    sentence: str
    page: str
    params: dict[str, str] = field(default_factory=dict)
    hide: tuple[str, ...] = ()

    @property
    def query(self) -> dict[str, str]:
        """The URL query: the settings, then the hidden controls."""
        q = dict(self.params)
        if self.hide:
            q["hide"] = ",".join(self.hide)
        return q

    @property
    def url(self) -> str:
        """The link, relative to the app's address: `/convolution?s=2&p=1`."""
        query = urlencode(self.query, safe=",; ")
        return f"/{self.page}" + (f"?{query}" if query else "")

    @property
    def page_path(self) -> str:
        """The page file, relative to the repository root."""
        return f"pages/{self.page}.py"


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "stride",
        "Stride 2 halves the map",
        "The window jumps two pixels at a time, so a 256 × 256 picture gives a 128 × 128 "
        "map: half as tall, half as wide, a quarter of the numbers.",
        "convolution",
        {"s": "2", "p": "1", "pool": "None"},
        ("s", "p"),
    ),
    Lesson(
        "padding",
        "Padding keeps the size",
        "One ring of zeros around the picture lets a 3 × 3 window centre on every pixel: "
        "256 × 256 in, 256 × 256 out.",
        "convolution",
        {"p": "1", "pool": "None"},
        ("p",),
    ),
    Lesson(
        "dilation",
        "Dilation widens the view at no cost",
        "Spread the 3 × 3 kernel's taps one pixel apart: each output sees a 5 × 5 patch with "
        "the same 9 weights (padding 2 keeps the size).",
        "convolution",
        {"d": "2", "p": "2", "pool": "None"},
        ("d", "p"),
    ),
    Lesson(
        "pooling",
        "Max vs average pooling",
        "The same 2 × 2 windows: max keeps each window's largest number, average its mean, "
        "so max is never below average.",
        "pooling",
        {"k": "2", "s": "2"},
        ("k", "s"),
    ),
    Lesson(
        "rgb",
        "RGB: three slices, one map",
        "A colour kernel has one slice per channel; the three partial maps and the bias add "
        "up to ONE feature map.",
        "convolution",
        {"ch": "True RGB convolution", "pool": "None"},
        ("ch",),
    ),
    Lesson(
        "worked",
        "The worked example, by hand",
        "Input 0..8 in a 3 × 3 grid, kernel [[0, 1], [2, 3]]: four steps write 19, 25, 37 "
        "and 43. Check each sum yourself.",
        "step_by_step",
        {"x0": WORKED_INPUT, "k0": WORKED_KERNEL},
        ("mode", "ch"),
    ),
    Lesson(
        "transposed",
        "Transposed conv undoes the shape",
        "Kernel 4, stride 2, padding 1 turns 28 into 14; the transposed layer with the same "
        "numbers turns 14 back into 28.",
        "output_size",
        {"op": "Transposed", "in": "14", "k": "4", "s": "2", "p": "1"},
        ("op", "k", "s", "p"),
    ),
    Lesson(
        "first_layer",
        "What the first layer learns",
        "Train on gray edges in four directions and watch the first layer's filters turn "
        "into edge detectors, one direction each.",
        "train",
        {"data": "orientations", "step": "Train", "epochs": "5"},
        ("data",),
    ),
    Lesson(
        "overfit",
        "Overfitting in 60 seconds",
        "Fifty training digits, no dropout, no augmentation, 60 epochs: training accuracy "
        "reaches 100\u00a0% while validation stays far below.",
        "train",
        {
            "data": "digits",
            "step": "Train",
            "ntrain": "50",
            "aug": "false",
            "drop": "0",
            "wd": "0",
            "epochs": "60",
            "bs": "16",
            "opt": "Adam",
            "lr": "0.01",
        },
    ),
    Lesson(
        "keras",
        "The Keras tutorial net",
        "The classic three-conv net from the Keras tutorial on 32 × 32 colour pictures of "
        "ten shapes: every layer's shape and parameter count in the table.",
        "train",
        {"data": "shapes10", "arch": KERAS, "step": "Architecture"},
    ),
)

BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}


# ------------------------------------------------------------------------------ thumbnails


def _sample(side: int = 48) -> np.ndarray:
    from cnnviz.images import sample_image

    return sample_image("astronaut", "gray", side).array


def _map(a: np.ndarray, side: int = THUMB) -> np.ndarray:
    """An (H, W) map coloured (diverging when signed), enlarged to about `side`."""
    return upscale(colorize(a, rng=value_range(a)), side)


def _beside(*pictures: np.ndarray, side: int = THUMB) -> np.ndarray:
    """Pictures side by side on white, bottoms aligned, each scaled as given (sizes compare)."""
    h = max(p.shape[0] for p in pictures)
    gap = np.full((h, 4, 3), 255, np.uint8)
    cols = []
    for p in pictures:
        pad = np.full((h - p.shape[0], p.shape[1], 3), 255, np.uint8)
        cols += [np.concatenate([pad, p]), gap]
    out = np.concatenate(cols[:-1], axis=1)
    return _fit(out, side)


def _fit(rgb: np.ndarray, side: int = THUMB) -> np.ndarray:
    """Nearest-neighbour resize so the longer side is `side` (keeps cells crisp)."""
    h, w = rgb.shape[:2]
    f = side / max(h, w)
    rows = np.minimum((np.arange(max(1, round(h * f))) / f).astype(int), h - 1)
    cols = np.minimum((np.arange(max(1, round(w * f))) / f).astype(int), w - 1)
    return np.ascontiguousarray(rgb[rows][:, cols])


def _conv(x: np.ndarray, **kw) -> np.ndarray:
    return ops.conv2d(x[None], preset("sobel_x")[None, None], **kw)[0]


def _thumb_stride() -> np.ndarray:
    x = _sample()
    one, two = _conv(x, padding=1), _conv(x, stride=2, padding=1)
    return _beside(
        upscale(colorize(one), 2 * one.shape[0]), upscale(colorize(two), 2 * two.shape[0])
    )


def _thumb_padding() -> np.ndarray:
    from cnnviz.render.padded import picture

    x = _sample(24)[None]
    padded = ops.pad2d(x, (1, 1, 1, 1), "zeros")
    return _fit(picture(padded, (1, 1, 1, 1), min_side=THUMB))


def _thumb_dilation() -> np.ndarray:
    k = preset("sobel_x")
    spread = np.zeros((5, 5), np.float32)
    spread[::2, ::2] = k  # the dilated kernel: 9 weights over a 5x5 patch
    return _beside(_map(k, 3 * 12), _map(spread, 5 * 12))


def _thumb_pooling() -> np.ndarray:
    g = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], np.float32)[None]
    mx, avg = ops.max_pool2d(g, 2, 2)[0], ops.avg_pool2d(g, 2, 2)[0]
    rng = value_range(g)
    big = [upscale(colorize(a, rng=rng), side) for a, side in ((g[0], 48), (mx, 24), (avg, 24))]
    return _beside(*big)


def _thumb_rgb() -> np.ndarray:
    from cnnviz.images import sample_image

    x = sample_image("astronaut", "rgb", 32).array.transpose(2, 0, 1)
    w = preset("sobel_x")[None, None].repeat(3, axis=1)
    parts = ops.conv2d_partials(np.ascontiguousarray(x), w)[0]  # (3, H, W)
    rng = value_range(np.concatenate([parts.ravel(), parts.sum(0).ravel()]))
    maps = [colorize(p, rng=rng) for p in (*parts, parts.sum(0))]
    return _fit(tile(maps, 2, gap=2))


def _thumb_worked() -> np.ndarray:
    from cnnviz.kernels import parse_kernel

    x, k = parse_kernel(WORKED_INPUT), parse_kernel(WORKED_KERNEL)
    out = ops.conv2d(x[None], k[None, None])[0]
    return _beside(_map(x, 3 * 16), _map(k, 2 * 16), _map(out, 2 * 16))


def _thumb_transposed() -> np.ndarray:
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 4, 4), np.float32)
    up = ops.conv_transpose2d(x, w, stride=2, padding=1)[0, 0]  # 4 -> 8, as 14 -> 28
    return _beside(_map(x[0, 0], 4 * 6), _map(up, 8 * 6))


def _thumb_first_layer() -> np.ndarray:
    edges = [
        preset("sobel_x"),
        preset("sobel_y"),
        np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], np.float32),
        np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]], np.float32),
    ]
    return _fit(tile([colorize(e, rng=value_range(e)) for e in edges], 2, gap=1))


def _thumb_overfit() -> np.ndarray:
    """The lesson's 50 training images: 5 per digit (scikit-learn's bundled scans)."""
    digits = _digit_scans()
    rows = [colorize(digits[i], rng=value_range(digits[i], signed=False)) for i in range(50)]
    return _fit(tile(rows, 10, gap=1))


def _digit_scans() -> np.ndarray:
    """scikit-learn's first 50 8x8 digit scans, read from its bundled CSV (no torch, no sklearn
    import); blank cells if the file is missing."""
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        return np.zeros((50, 8, 8), np.float32)
    with gzip.open(path, "rt") as f:
        rows = [next(f) for _ in range(50)]
    raw = np.array([[float(v) for v in r.split(",")[:64]] for r in rows], np.float32)
    return (16 - raw.reshape(50, 8, 8)) / 16  # ink dark on light


def _thumb_keras() -> np.ndarray:
    """The net's feature maps as blocks: height = map side, width = channels (from the sizes)."""
    side, blocks = 32, [(32, 3)]
    for op, k, ch in (
        ("conv", 3, 32),
        ("pool", 2, 32),
        ("conv", 3, 64),
        ("pool", 2, 64),
        ("conv", 3, 64),
    ):
        side = output_size(side, k, k if op == "pool" else 1, op=op).size[0]
        blocks.append((side, ch))
    pics = []
    for s, ch in blocks:
        colour = np.array([86, 180, 233] if ch == 3 else [0, 114, 178], np.uint8)
        pics.append(np.broadcast_to(colour, (2 * s, max(4, ch // 4), 3)).copy())
    return _beside(*pics)


_THUMBS: dict[str, Callable[[], np.ndarray]] = {
    "stride": _thumb_stride,
    "padding": _thumb_padding,
    "dilation": _thumb_dilation,
    "pooling": _thumb_pooling,
    "rgb": _thumb_rgb,
    "worked": _thumb_worked,
    "transposed": _thumb_transposed,
    "first_layer": _thumb_first_layer,
    "overfit": _thumb_overfit,
    "keras": _thumb_keras,
}


@functools.lru_cache(maxsize=len(_THUMBS))
def thumbnail(slug: str) -> np.ndarray:
    """The lesson's small picture, (H, W, 3) uint8 with the longer side THUMB, made by the
    engine from the lesson's own settings (read-only, the same for everyone: cached)."""
    out = _THUMBS[slug]()
    out.setflags(write=False)
    return out
