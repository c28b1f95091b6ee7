"""Slide-ready pictures: a title, the picture, and its colour key, at least 1280 px wide.

Pure Pillow, no streamlit; the one font loader (`font`, `text`) for every picture with words.
Text uses DejaVu Sans when Debian's fonts-dejavu-core is installed (it has ×, −, → and ∞); otherwise Pillow's bundled font, which lacks them, so the text is made
ASCII ("3x3", "-", "->", "inf") rather than drawn as boxes or dropped.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnviz.numbers import MINUS, fmt
from cnnviz.render.colormaps import Cmap, Range, cmap_for, colorbar
from cnnviz.render.png import map_grid, png_bytes

SLIDE_WIDTH = 1280  # px: a 720p projector's width, the smallest a slide export has
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
INK, WHITE = (0, 0, 0), (255, 255, 255)
MARGIN = 40


@functools.lru_cache(maxsize=1)
def unicode_font_path() -> Path | None:
    """DejaVu Sans if this machine has it (Debian: fonts-dejavu-core), else None."""
    path = FONT_DIR / "DejaVuSans.ttf"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of `size` px: DejaVu Sans (bold if asked and present), else Pillow's own."""
    base = unicode_font_path()
    if base is not None:
        bold_path = base.with_name("DejaVuSans-Bold.ttf")
        return ImageFont.truetype(str(bold_path if bold and bold_path.is_file() else base), size)
    return ImageFont.load_default(size=size)


_ASCII = (("×", "x"), ("→", "->"), ("−", "-"), ("·", "*"), ("∞", "inf"), ("Σ", "sum"))


def text(s: str) -> str:
    """`s` as the font can draw it: unchanged with DejaVu, ASCII stand-ins without it."""
    if unicode_font_path() is not None:
        return s
    for a, b in _ASCII:
        s = s.replace(a, b)
    return s


def colorbar_image(cmap: str, rng: Range, width: int = 600) -> Image.Image:
    """A horizontal colour bar with its values written under it (min, 0 when signed, max)."""
    bar_h, label_size = 28, 22
    img = Image.new("RGB", (width + 2 * MARGIN, bar_h + label_size + 24), WHITE)
    img.paste(Image.fromarray(colorbar(cmap, width, bar_h)), (MARGIN, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((MARGIN - 1, 0, MARGIN + width, bar_h), outline=INK)
    f = font(label_size)
    ticks = [(0.0, rng.vmin), (1.0, rng.vmax)] + ([(0.5, 0.0)] if rng.signed else [])
    for t, v in ticks:
        x = MARGIN + t * width
        draw.line((x, bar_h, x, bar_h + 6), fill=INK, width=2)
        draw.text((x, bar_h + 8), text(fmt(v, minus=MINUS)), fill=INK, font=f, anchor="ma")
    return img


def legend_image(items: list[tuple[tuple[int, int, int], str]], width: int) -> Image.Image:
    """A colour key: a swatch and a word for each colour, in rows that fit `width`."""
    f, sw, gap, row_h = font(22), 28, 28, 40
    rows, x, row = [], 0, []
    for color, label in items:
        w = sw + 10 + int(f.getlength(text(label))) + gap
        if row and x + w > width:
            rows.append(row)
            row, x = [], 0
        row.append((color, label, x))
        x += w
    rows.append(row)
    img = Image.new("RGB", (width, row_h * len(rows)), WHITE)
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(rows):
        y = r * row_h + 4
        for color, label, x in row:
            draw.rectangle((x, y, x + sw, y + sw), fill=color, outline=(90, 90, 90))
            draw.text((x + sw + 10, y + sw / 2), text(label), fill=INK, font=f, anchor="lm")
    return img


def slide(
    body: Image.Image, title: str, key: Image.Image | None = None, width: int = SLIDE_WIDTH
) -> Image.Image:
    """Title on top, `body` under it (scaled up by a whole factor to fill the width when it
    is small, so cells stay crisp), then `key` (a colour bar or legend). At least `width` wide."""
    inner = max(width, body.width + 2 * MARGIN) - 2 * MARGIN
    factor = max(1, inner // max(body.width, 1))
    if factor > 1:
        body = body.resize((body.width * factor, body.height * factor), Image.Resampling.NEAREST)
    w = max(width, body.width + 2 * MARGIN, (key.width + 2 * MARGIN) if key else 0)
    title_font = font(36, bold=True)
    title_h = 36 + 2 * 24
    h = title_h + body.height + (24 + key.height if key else 0) + MARGIN
    img = Image.new("RGB", (w, h), WHITE)
    draw = ImageDraw.Draw(img)
    draw.text((MARGIN, 24), text(title), fill=INK, font=title_font)
    img.paste(body, ((w - body.width) // 2, title_h))
    if key is not None:
        img.paste(key, ((w - key.width) // 2, title_h + body.height + 24))
    return img


def maps_slide(tiles: np.ndarray, title: str, cmap: str, rng: Range) -> Image.Image:
    """Feature maps (an (H, W, 3) tile sheet) as a slide: title, maps, colour bar with values."""
    return slide(Image.fromarray(tiles), title, colorbar_image(cmap, rng))


def maps_slide_png(maps: np.ndarray, title: str, cmap: Cmap = None, cols: int = 4) -> bytes:
    """(N, H, W) maps on one colour range as a slide's PNG bytes: title, tiled maps, colour bar."""
    sheet, rng = map_grid(maps, min(len(maps), cols), cmap, gap=4)
    return png_bytes(maps_slide(sheet, title, cmap_for(rng, cmap), rng))
