"""A whole net at a glance as one picture: the input, then every layer as a column of channel
thumbnails (one colour range per layer), its shape under it. Where each thumbnail sits is kept,
so a click on the picture names the (layer, channel) under it; a unit's receptive field can be
outlined on every column, and the channel looked at is framed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from cnnviz.render.colormaps import DEFAULT_DIVERGING, DEFAULT_SEQUENTIAL, palette, value_range
from cnnviz.render.colormaps import levels as to_levels
from cnnviz.render.png import png_bytes
from cnnviz.render.slides import font, text

THUMB = 56  # px: a thumbnail's longer side (maps are enlarged by whole factors up to it)
MAX_SHOWN = 16  # channels drawn per column; more are named under the column
GAP, PAD, HEAD, FOOT = 4, 10, 18, 30  # px between thumbnails, between columns, title, shape
OUTLINE = (255, 0, 170)  # the receptive field: magenta shows on every colour map
FOCUS = (0, 0, 0)  # the frame of the channel looked at


@dataclass
class Thumb:
    """Where one channel's thumbnail is: column (0 = the input, i + 1 = layer i) and channel."""

    column: int
    channel: int
    left: int
    top: int
    right: int  # exclusive
    bottom: int  # exclusive
    shape: tuple[int, int]  # the map's (H, W)


@dataclass
class Overview:
    png: bytes
    width: int
    height: int
    thumbs: list[Thumb] = field(default_factory=list)

    def hit(self, x: float, y: float) -> tuple[int, int] | None:
        """(column, channel) of the thumbnail at picture pixel (x, y), or None (a gap)."""
        for t in self.thumbs:
            if t.left <= x < t.right and t.top <= y < t.bottom:
                return t.column, t.channel
        return None


def _as_maps(v: np.ndarray) -> np.ndarray:
    """(C, H, W) maps as they are; a vector (N,) as one tall strip of cells (1, N, 1)."""
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 3:
        return v
    flat = v.reshape(-1)
    return flat.reshape(1, -1, 1)


def _thumb(m: np.ndarray, rng, pal: np.ndarray) -> np.ndarray:
    h, w = m.shape
    if w == 1:  # a vector as a strip of cells
        f = max(1, min(14, (THUMB * 4) // max(1, h)))
        img = pal[to_levels(m, rng)]
        return np.repeat(np.repeat(img, f, axis=0), 14, axis=1)
    f = max(1, THUMB // max(h, w))
    img = pal[to_levels(m, rng)]
    return np.repeat(np.repeat(img, f, axis=0), f, axis=1)


def overview_png(
    columns: list[tuple[str, np.ndarray]],
    boxes: dict[int, tuple[int, int, int, int]] | None = None,
    focus: tuple[int, int] | None = None,
) -> Overview:
    """`columns`: (title, values) from input to output; values (C, H, W) or (N,). `boxes`:
    column -> (top, left, bottom, right) in that column's map cells (bottom/right exclusive),
    outlined on every shown channel; `focus`: (column, channel) framed."""
    boxes = boxes or {}
    laid = []  # (title, shape text, note, [(channel, rgb)], sub-columns)
    for title, values in columns:
        v = np.asarray(values, dtype=np.float32)
        maps = _as_maps(v)
        shown = maps[:MAX_SHOWN]
        rng = value_range(shown)
        pal = palette(DEFAULT_DIVERGING if rng.signed else DEFAULT_SEQUENTIAL)
        thumbs = [(c, _thumb(m, rng, pal), m.shape) for c, m in enumerate(shown)]
        note = f"first {MAX_SHOWN} of {len(maps)}" if len(maps) > MAX_SHOWN else ""
        shape = " × ".join(str(s) for s in v.shape)
        laid.append((title, shape, note, thumbs, 2 if len(thumbs) > 8 else 1))
    small, tiny = font(12, bold=True), font(11)
    widths = [
        max(
            sub * max(t.shape[1] for _, t, _ in thumbs) + (sub - 1) * GAP,
            int(small.getlength(text(title))) + 2,
            int(tiny.getlength(text(shape))) + 2,
            int(tiny.getlength(note)) + 2,
        )
        for title, shape, note, thumbs, sub in laid
    ]
    heights = []
    for _, _, _, thumbs, sub in laid:
        rows = math.ceil(len(thumbs) / sub)
        heights.append(rows * (max(t.shape[0] for _, t, _ in thumbs) + GAP))
    width = sum(widths) + PAD * (len(laid) + 1)
    height = HEAD + max(heights, default=0) + FOOT + PAD
    im = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    out = Overview(b"", width, height)
    x0 = PAD
    for col, ((title, shape, note, thumbs, sub), w) in enumerate(zip(laid, widths)):
        draw.text((x0, 2), text(title), fill=(0, 0, 0), font=small)
        th, tw = max(t.shape[0] for _, t, _ in thumbs), max(t.shape[1] for _, t, _ in thumbs)
        for k, (channel, rgb, mshape) in enumerate(thumbs):
            r, c = divmod(k, sub)
            left, top = x0 + c * (tw + GAP), HEAD + r * (th + GAP)
            im.paste(Image.fromarray(rgb), (left, top))
            t = Thumb(col, channel, left, top, left + rgb.shape[1], top + rgb.shape[0], mshape)
            out.thumbs.append(t)
            if col in boxes:
                _outline(draw, t, boxes[col])
            if focus == (col, channel):
                draw.rectangle(
                    [left - 2, top - 2, t.right + 1, t.bottom + 1], outline=FOCUS, width=2
                )
        y = HEAD + heights[col] + 2
        draw.text((x0, y), text(shape), fill=(40, 40, 40), font=tiny)
        if note:
            draw.text((x0, y + 13), note, fill=(90, 90, 90), font=tiny)
        x0 += w + PAD
    out.png = png_bytes(im, fast=True)
    return out


def _outline(draw: ImageDraw.ImageDraw, t: Thumb, box: tuple[int, int, int, int]) -> None:
    """The box (map cells, bottom/right exclusive, clipped to the map) drawn on a thumbnail."""
    h, w = t.shape
    top, left, bottom, right = box
    top, left = max(0, top), max(0, left)
    bottom, right = min(h, bottom), min(w, right)
    if bottom <= top or right <= left:
        return
    fy, fx = (t.bottom - t.top) / h, (t.right - t.left) / w
    draw.rectangle(
        [t.left + left * fx, t.top + top * fy, t.left + right * fx - 1, t.top + bottom * fy - 1],
        outline=OUTLINE,
        width=2,
    )
