"""A step-by-step walk as slides: one PNG frame per step, and the whole walk as a GIF.

Pure Pillow, no streamlit. Frames are slides (>= 1280 px wide, a title, a colour key), their
text in DejaVu Sans when installed, else ASCII in Pillow's bundled font (see
`cnnviz.render.slides`). The cells drawn come from `cnnviz.render.cells`, as on the page.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from cnnviz.explain import stamp_equation, window_equation
from cnnviz.render import slides
from cnnviz.render.cells import (
    BOX,
    COLORS,
    DARK,
    canvas_cells,
    cell_labels,
    grid_labels,
    kernel_cells,
    output_kinds,
    scatter_input_kinds,
    window_kinds,
)
from cnnviz.render.colormaps import rgb
from cnnviz.render.png import png_bytes
from cnnviz.walks import ScatterWalk

# what each cell colour means, for the frame's colour key ("gap" and "empty" need no words)
KEY_WORDS = {
    "input": "input",
    "padding": "padding",
    "inserted zero": "inserted zero",
    "ceil_mode overhang": "ceil_mode overhang",
    "window": "the window's taps",
    "window on padding": "window on padding",
    "winner": "max: the winner",
    "weight": "kernel",
    "done": "output so far",
    "current": "this step's output",
    "cropped": "cropped by padding",
}


_GRID = (150, 150, 150)


def _draw_grid(draw, x0, y0, labels, kinds, cell, title, boxes=()) -> tuple[int, int]:
    """Draw one labelled grid at (x0, y0); return its (width, height) including the title."""
    font, small = slides.font(max(10, int(cell * 0.4))), slides.font(20)
    draw.text((x0, y0), title, fill=slides.INK, font=small)
    y0 += 28
    rows, cols = labels.shape
    for r in range(rows):
        for c in range(cols):
            box = (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 2, y0 + (r + 1) * cell - 2)
            draw.rectangle(box, fill=rgb(COLORS[kinds[r, c]]))
            text = slides.text(labels[r, c])
            if text:
                ink = slides.WHITE if kinds[r, c] in DARK else slides.INK
                draw.text(
                    ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
                    text,
                    fill=ink,
                    font=font,
                    anchor="mm",
                )
    for top, left, bottom, right in boxes:
        draw.rectangle(
            (
                x0 + left * cell - 2,
                y0 + top * cell - 2,
                x0 + (right + 1) * cell,
                y0 + (bottom + 1) * cell,
            ),
            outline=rgb(BOX),
            width=4,
        )
    return max(cols * cell, int(small.getlength(title))), rows * cell + 28


def _panels(walk, k: int) -> tuple[list, list[str]]:
    """(panels, lines): each panel (labels, kinds, title, boxes) in drawing order, and the
    equation lines of step k."""
    panels = []
    if isinstance(walk, ScatterWalk):
        step = walk.step(k)
        kinds = scatter_input_kinds(walk, step)
        for ch in range(walk.input.shape[0]):
            panels.append(
                (
                    cell_labels(walk.input[ch]),
                    kinds,
                    f"input {ch + 1}",
                    [(step.row, step.col, step.row, step.col)],
                )
            )
            panels.append(kernel_cells(walk.weight[ch], walk.dilation) + (f"kernel {ch + 1}", []))
        labels, kinds = canvas_cells(walk, step)
        panels.append((labels, kinds, "canvas (grey: cropped)", [step.box]))
        out = walk.output_until(k)
        panels.append((cell_labels(out), output_kinds(out), "output", []))
        return panels, stamp_equation(walk, step)
    step = walk.step(k)
    for part in step.parts:
        kinds = window_kinds(walk, step, part)
        panels.append(
            (grid_labels(walk, part.channel), kinds, f"input {part.channel + 1}", [step.box])
        )
        if part.weights is not None:
            cells = kernel_cells(part.weights, walk.dilation)
            panels.append(cells + (f"kernel {part.channel + 1}", []))
    out = walk.output_until(k)
    for o in range(out.shape[0]):
        kinds = output_kinds(out[o], (step.row, step.col))
        title = "output" if out.shape[0] == 1 else f"output {o + 1}"
        panels.append((cell_labels(out[o]), kinds, title, []))
    return panels, window_equation(walk.mode, step)


MAX_FRAME_WIDTH = 1600


def render_frame(walk, k: int, title: str = "", cell: int = 64) -> Image.Image:
    """Step k as one slide (>= slides.SLIDE_WIDTH px wide): a title, the grids side by side,
    the arithmetic underneath, and a key saying what each cell colour means."""
    panels, lines = _panels(walk, k)
    cols = sum(p[0].shape[1] for p in panels)
    cell = int(max(22, min(cell, (MAX_FRAME_WIDTH - 30 * (len(panels) + 1)) // max(cols, 1))))
    head = slides.text(
        f"{title}: step {k + 1} of {walk.n_steps}" if title else f"Step {k + 1} of {walk.n_steps}"
    )
    lines = [slides.text(t) for t in lines]
    font, line_h = slides.font(24), 34
    sizes = [(p[0].shape[1] * cell, p[0].shape[0] * cell + 28) for p in panels]
    width = sum(w for w, _ in sizes) + 30 * (len(panels) + 1)
    text_w = max([font.getlength(t) for t in lines] + [0]) + 60
    width = int(max(width, min(text_w, 1800), slides.SLIDE_WIDTH))
    wrapped = [_wrap(t, font, width - 60) for t in lines]
    n_lines = sum(len(w) for w in wrapped)
    kinds_seen = {str(v) for p in panels for v in np.unique(p[1])}
    key = slides.legend_image(
        [(rgb(COLORS[n]), w) for n, w in KEY_WORDS.items() if n in kinds_seen], width - 60
    )
    top = 70
    grids_h = max(h for _, h in sizes)
    height = top + grids_h + 30 + line_h * n_lines + 20 + key.height + 20
    img = Image.new("RGB", (width, height), slides.WHITE)
    draw = ImageDraw.Draw(img)
    draw.text((30, 16), head, fill=slides.INK, font=slides.font(32, bold=True))
    x = 30
    for labels, kinds, name, boxes in panels:
        w, _ = _draw_grid(draw, x, top, labels, kinds, cell, name, boxes)
        x += w + 30
    y = top + grids_h + 24
    for chunk in wrapped:
        for t in chunk:
            draw.text((30, y), t, fill=slides.INK, font=font)
            y += line_h
    img.paste(key, (30, y + 20))
    return img


def _wrap(text: str, font, width: float) -> list[str]:
    """Break a long sum after a '+' so it fits the frame."""
    out, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}".strip()
        if line and font.getlength(trial) > width:
            out.append(line)
            line = "    " + word
        else:
            line = trial
    return out + [line]


def frame_png(walk, k: int, title: str = "") -> bytes:
    """Step k as PNG bytes (the current frame, for a slide)."""
    return png_bytes(render_frame(walk, k, title))


MAX_GIF_FRAMES = 200
MAX_GIF_PIXELS = 100_000_000  # all frames together: ~0.1 GB of RGB while encoding


def _palette() -> Image.Image:
    """The frames' colours, and blends of each with black for anti-aliased text: a fixed
    palette is fast to map to and keeps the GIF small."""
    base = [slides.WHITE, slides.INK, _GRID, rgb(BOX)] + [
        rgb(c) for c in dict.fromkeys(COLORS.values())
    ]
    colors = []
    for c in base:
        for t in np.linspace(0, 1, 8):
            colors.append(tuple(int(round(v * (1 - t))) for v in c))
    colors = list(dict.fromkeys(colors))[:256]
    flat = [v for c in colors for v in c] + [0] * (768 - 3 * len(colors))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


def gif_steps(n: int, frame_pixels: int) -> list[int]:
    """The steps a GIF keeps: all of them, or evenly spaced ones (first and last included) when
    there are more than MAX_GIF_FRAMES or the frames would pass MAX_GIF_PIXELS in all."""
    most = max(2, min(MAX_GIF_FRAMES, MAX_GIF_PIXELS // max(frame_pixels, 1)))
    if n <= most:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, most).round().astype(int).tolist()))


def walk_gif(walk, title: str = "", ms_per_step: int = 800) -> bytes:
    """The whole walk as an animated GIF; the last frame stays twice as long. Long or large walks
    keep evenly spaced steps (see gif_steps), so the file stays a slide's size."""
    first = render_frame(walk, 0, title)
    ks = gif_steps(walk.n_steps, first.width * first.height)
    frames = [first] + [render_frame(walk, k, title) for k in ks[1:]]
    w = max(f.width for f in frames)
    h = max(f.height for f in frames)
    palette = _palette()
    sheets = []
    for f in frames:
        sheet = Image.new("RGB", (w, h), slides.WHITE)
        sheet.paste(f, (0, 0))
        sheets.append(sheet.quantize(palette=palette, dither=Image.Dither.NONE))
    buf = io.BytesIO()
    durations = [ms_per_step] * (len(sheets) - 1) + [ms_per_step * 2]
    sheets[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=sheets[1:],
        duration=durations,
        loop=0,
        optimize=False,
    )
    return buf.getvalue()
