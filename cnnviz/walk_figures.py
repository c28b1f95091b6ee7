"""Pictures of a step-by-step walk: plotly figures for the page, Pillow frames for PNG and GIF.

Pure functions from a walk (`cnnviz.walks`) and a step to a picture; no streamlit. The numbers
written in the cells are the walk's own (formatted by `cnnviz.numbers.fmt`). Colours are a
colour-blind-safe blue/orange/grey set; every cell carries its number, so colour is never the
only cue. PNG and GIF frames are slides (>= 1280 px wide, a title, a colour key), their text in
DejaVu Sans when installed, else ASCII in Pillow's bundled font (see cnnviz.slides).
"""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from cnnviz import slides
from cnnviz.explain import conv_equation, pool_equation, stamp_equation
from cnnviz.numbers import fmt
from cnnviz.walks import (
    INPUT,
    INSERTED,
    OVERHANG,
    PADDING,
    ScatterWalk,
    StampStep,
    WindowStep,
    WindowWalk,
)

COLORS = {
    "input": "#deebf7",
    "padding": "#d9d9d9",
    "inserted zero": "#ffffff",
    "ceil_mode overhang": "#f0f0f0",
    "window": "#fdae6b",
    "window on padding": "#f6cfa8",
    "winner": "#d94801",
    "weight": "#dadaeb",
    "gap": "#ffffff",
    "done": "#c6dbef",
    "current": "#fdae6b",
    "empty": "#ffffff",
    "cropped": "#d9d9d9",
}
BOX = "#a63603"  # the window's outline
_BASE = {
    INPUT: "input",
    PADDING: "padding",
    INSERTED: "inserted zero",
    OVERHANG: "ceil_mode overhang",
}
DARK = {"winner"}  # cells whose text is white


def _cell_px(rows: int, cols: int, max_width: int) -> int:
    return int(max(22, min(64, (max_width - 20) // max(cols, 1), 560 // max(rows, 1))))


def cells_figure(
    labels: np.ndarray,
    kinds: np.ndarray,
    title: str = "",
    boxes: list[tuple[int, int, int, int]] = (),
    max_width: int = 600,
) -> go.Figure:
    """A grid of cells: each with a kind (a key of COLORS) and a label written in it; `boxes`
    are (top, left, bottom, right) outlines drawn over it."""
    rows, cols = labels.shape
    names = sorted({str(k) for k in kinds.ravel()})
    index = {n: i for i, n in enumerate(names)}
    z = np.vectorize(index.get)(kinds).astype(float) if kinds.size else np.zeros(kinds.shape)
    n = max(len(names), 1)
    scale = []
    for i, name in enumerate(names):
        scale += [[i / n, COLORS[name]], [(i + 1) / n, COLORS[name]]]
    if len(names) == 1:
        z = z * 0
    px = _cell_px(rows, cols, max_width)
    font = max(11, int(px * (0.42 if labels.dtype.kind == "U" and _longest(labels) <= 3 else 0.32)))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale=scale,
            zmin=0,
            zmax=n,
            showscale=False,
            xgap=2,
            ygap=2,
            text=labels,
            hoverinfo="text" if labels.size else "skip",
        )
    )
    fig.update_traces(texttemplate="%{text}", textfont=dict(size=font, color="black"))
    for r, c in zip(*np.nonzero(np.isin(kinds, list(DARK)))):  # white text on dark cells
        fig.add_annotation(
            x=c,
            y=r,
            text=f"<b>{labels[r, c]}</b>",
            showarrow=False,
            font=dict(size=font, color="white"),
            bgcolor=COLORS["winner"],
        )
    for top, left, bottom, right in boxes:
        fig.add_shape(
            type="rect",
            x0=left - 0.5,
            x1=right + 0.5,
            y0=top - 0.5,
            y1=bottom + 0.5,
            line=dict(color=BOX, width=4),
        )
    top_margin = 44 if title else 6
    fig.update_layout(
        title=dict(text=title, font=dict(size=18), x=0, xanchor="left"),
        width=px * cols + 20,
        height=px * rows + top_margin + 10,
        margin=dict(l=10, r=10, t=top_margin, b=10),
        plot_bgcolor="#b0b0b0",
        xaxis=dict(visible=False, range=[-0.53, cols - 0.47], constrain="domain"),
        yaxis=dict(visible=False, range=[rows - 0.47, -0.53], scaleanchor="x", constrain="domain"),
    )
    return fig


def _longest(labels: np.ndarray) -> int:
    return max((len(s) for s in labels.ravel()), default=0)


def _labels(a: np.ndarray) -> np.ndarray:
    return np.vectorize(fmt, otypes=[str])(a) if a.size else a.astype(str)


def _grid_labels(walk: WindowWalk, channel: int) -> np.ndarray:
    """The drawn grid's numbers; cells past the padded input (ceil_mode's overhang) hold nothing,
    so they stay blank rather than show the fill the engine pads them with."""
    labels = _labels(walk.grid[channel])
    labels[walk.codes == OVERHANG] = ""
    return labels


def _window_kinds(walk: WindowWalk, step: WindowStep | None) -> np.ndarray:
    kinds = np.vectorize(_BASE.get, otypes=[object])(walk.codes)
    if step is not None:
        taps = np.ix_(step.rows, step.cols)
        codes = walk.codes[taps]
        kinds[taps] = np.where(
            codes == INPUT,
            "window",
            np.where(codes == OVERHANG, "ceil_mode overhang", "window on padding"),
        )
    return kinds.astype(str)


def input_figure(
    walk: WindowWalk,
    step: WindowStep | None,
    channel: int = 0,
    max_width: int = 600,
    title: str | None = None,
) -> go.Figure:
    """The drawn input of one channel (padding frame grey), the window's taps orange and
    outlined (dilation holes inside the outline keep their colour); max pooling's winner dark."""
    kinds = _window_kinds(walk, step)
    boxes = []
    if step is not None:
        boxes.append(step.box)
        part = step.parts[channel]
        if part.winner is not None:
            kinds[step.rows[part.winner[0]], step.cols[part.winner[1]]] = "winner"
    if title is None:
        title = f"Input, channel {channel + 1}" if walk.grid.shape[0] > 1 else "Input"
    return cells_figure(_grid_labels(walk, channel), kinds, title, boxes, max_width)


def kernel_figure(
    weights: np.ndarray, dilation=(1, 1), title: str = "Kernel", max_width: int = 400
) -> go.Figure:
    """A kernel slice drawn as it sits on the input: with dilation, empty gaps between taps."""
    labels, kinds = _kernel_cells(weights, dilation)
    return cells_figure(labels, kinds, title, (), max_width)


def _kernel_cells(weights: np.ndarray, dilation) -> tuple[np.ndarray, np.ndarray]:
    dh, dw = dilation
    kh, kw = weights.shape
    labels = np.full((dh * (kh - 1) + 1, dw * (kw - 1) + 1), "", dtype=object)
    kinds = np.full(labels.shape, "gap", dtype=object)
    labels[::dh, ::dw], kinds[::dh, ::dw] = _labels(weights), "weight"
    return labels.astype(str), kinds.astype(str)


def pair_figure(
    weights: np.ndarray, dilation, values: np.ndarray, title: str, max_width: int = 400
) -> go.Figure:
    """The kernel slice and its products (or stamp) as one figure, side by side with an empty
    column between: one figure fits a narrow column where two nested columns would not."""
    kl, kk = _kernel_cells(weights, dilation)
    vl, vk = _labels(values), _same(values, "window")
    rows = max(kl.shape[0], vl.shape[0])

    def pad(a: np.ndarray, fill: str) -> np.ndarray:
        out = np.full((rows, a.shape[1]), fill, dtype=object)
        out[: a.shape[0]] = a
        return out.astype(str)

    gap_l, gap_k = np.full((rows, 1), "", dtype=object), np.full((rows, 1), "gap", dtype=object)
    labels = np.hstack([pad(kl, ""), gap_l, pad(vl, "")]).astype(str)
    kinds = np.hstack([pad(kk, "gap"), gap_k, pad(vk, "gap")]).astype(str)
    return cells_figure(labels, kinds, title, (), max_width)


def values_figure(
    values: np.ndarray, title: str, kind: str = "weight", max_width: int = 400
) -> go.Figure:
    """A small grid of numbers (products, a stamp) in one colour."""
    kinds = np.full(values.shape, kind, dtype=object).astype(str)
    return cells_figure(_labels(values), kinds, title, (), max_width)


def output_figure(
    grid: np.ndarray, current: tuple[int, int] | None, title: str = "Output", max_width: int = 600
) -> go.Figure:
    """An output map: computed cells with their number, the current one orange, later ones empty."""
    kinds = np.where(np.isnan(grid), "empty", "done").astype(object)
    if current is not None:
        kinds[current] = "current"
    return cells_figure(_labels(grid), kinds.astype(str), title, (), max_width)


# ------------------------------------------------------------------------------ transposed


def scatter_input_figure(
    walk: ScatterWalk, step: StampStep, channel: int = 0, max_width: int = 600
) -> go.Figure:
    """The input of one channel: cells already stamped blue, the current one orange."""
    kinds = _scatter_input_kinds(walk, step)
    title = f"Input, channel {channel + 1}" if walk.input.shape[0] > 1 else "Input"
    return cells_figure(
        _labels(walk.input[channel]),
        kinds,
        title,
        [(step.row, step.col, step.row, step.col)],
        max_width,
    )


def _canvas_cells(walk: ScatterWalk, step: StampStep) -> tuple[np.ndarray, np.ndarray]:
    top, left, bottom, right = walk.crop
    kinds = np.full(walk.canvas_shape, "cropped", dtype=object)
    kinds[top : bottom + 1, left : right + 1] = "input"
    labels = _labels(step.canvas)
    labels[~walk.stamped(step.index)] = ""
    kinds[np.ix_(step.rows, step.cols)] = "window"
    return labels, kinds.astype(str)


def _scatter_input_kinds(walk: ScatterWalk, step: StampStep) -> np.ndarray:
    h, w = walk.input.shape[-2:]
    kinds = np.where(np.arange(h * w).reshape(h, w) < step.index, "done", "input").astype(object)
    kinds[step.row, step.col] = "window"
    return kinds.astype(str)


def canvas_figure(walk: ScatterWalk, step: StampStep, max_width: int = 700) -> go.Figure:
    """The uncropped canvas: every stamp so far added up, the current stamp outlined; outside the
    inner frame is what padding crops. output_padding moves the frame's bottom/right edge out:
    over stamped cells padding would have cut, then past the last stamp (cells no stamp reaches,
    blank here; the output holds only the bias there)."""
    labels, kinds = _canvas_cells(walk, step)
    boxes = [step.box]
    title = "Canvas: all stamps so far"
    if (kinds == "cropped").any():
        boxes.append(walk.crop)
    return cells_figure(labels, kinds.astype(str), title, boxes, max_width)


# ---------------------------------------------------------------------- PNG and GIF frames

_INK, _GRID, _WHITE = (0, 0, 0), (150, 150, 150), (255, 255, 255)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _font(size: int, bold: bool = False):
    return slides.font(size, bold)


def _ascii(text: str) -> str:
    """The text as the frame's font can draw it (unchanged with DejaVu)."""
    return slides.text(text)


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


def _draw_grid(draw, x0, y0, labels, kinds, cell, title, boxes=()) -> tuple[int, int]:
    """Draw one labelled grid at (x0, y0); return its (width, height) including the title."""
    font, small = _font(max(10, int(cell * 0.4))), _font(20)
    draw.text((x0, y0), title, fill=_INK, font=small)
    y0 += 28
    rows, cols = labels.shape
    for r in range(rows):
        for c in range(cols):
            box = (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 2, y0 + (r + 1) * cell - 2)
            draw.rectangle(box, fill=_rgb(COLORS[kinds[r, c]]))
            text = _ascii(labels[r, c])
            if text:
                ink = _WHITE if kinds[r, c] in DARK else _INK
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
            outline=_rgb(BOX),
            width=4,
        )
    return max(cols * cell, int(small.getlength(title))), rows * cell + 28


def _panels(walk, k: int) -> tuple[list, list[str]]:
    """(panels, lines): each panel (labels, kinds, title, boxes) in drawing order, and the
    equation lines of step k."""
    panels = []
    if isinstance(walk, ScatterWalk):
        step = walk.step(k)
        kinds = _scatter_input_kinds(walk, step)
        for ch in range(walk.input.shape[0]):
            panels.append(
                (
                    _labels(walk.input[ch]),
                    kinds,
                    f"input {ch + 1}",
                    [(step.row, step.col, step.row, step.col)],
                )
            )
            panels.append(_kernel_cells(walk.weight[ch], walk.dilation) + (f"kernel {ch + 1}", []))
        labels, kinds = _canvas_cells(walk, step)
        panels.append((labels, kinds, "canvas (grey: cropped)", [step.box]))
        out = walk.output_until(k)
        kinds = np.where(np.isnan(out), "empty", "done").astype(str)
        panels.append((_labels(out), kinds, "output", []))
        return panels, stamp_equation(walk, step)
    step = walk.step(k)
    base = _window_kinds(walk, step)
    for part in step.parts:
        kinds = base.copy()
        if part.winner is not None:
            kinds[step.rows[part.winner[0]], step.cols[part.winner[1]]] = "winner"
        panels.append(
            (_grid_labels(walk, part.channel), kinds, f"input {part.channel + 1}", [step.box])
        )
        if part.weights is not None:
            cells = _kernel_cells(part.weights, walk.dilation)
            panels.append(cells + (f"kernel {part.channel + 1}", []))
    out = walk.output_until(k)
    for o in range(out.shape[0]):
        kinds = np.where(np.isnan(out[o]), "empty", "done").astype(object)
        kinds[step.row, step.col] = "current"
        title = "output" if out.shape[0] == 1 else f"output {o + 1}"
        panels.append((_labels(out[o]), kinds.astype(str), title, []))
    if walk.mode.endswith("pool"):
        lines = pool_equation(step, walk.mode[:3])
    else:
        lines = conv_equation(step)
    return panels, lines


def _same(a: np.ndarray, kind: str) -> np.ndarray:
    return np.full(a.shape, kind, dtype=object).astype(str)


MAX_FRAME_WIDTH = 1600


def render_frame(walk, k: int, title: str = "", cell: int = 64) -> Image.Image:
    """Step k as one slide (>= slides.SLIDE_WIDTH px wide): a title, the grids side by side,
    the arithmetic underneath, and a key saying what each cell colour means."""
    panels, lines = _panels(walk, k)
    cols = sum(p[0].shape[1] for p in panels)
    cell = int(max(22, min(cell, (MAX_FRAME_WIDTH - 30 * (len(panels) + 1)) // max(cols, 1))))
    head = _ascii(
        f"{title}: step {k + 1} of {walk.n_steps}" if title else f"Step {k + 1} of {walk.n_steps}"
    )
    lines = [_ascii(t) for t in lines]
    font, line_h = _font(24), 34
    sizes = [(p[0].shape[1] * cell, p[0].shape[0] * cell + 28) for p in panels]
    width = sum(w for w, _ in sizes) + 30 * (len(panels) + 1)
    text_w = max([font.getlength(t) for t in lines] + [0]) + 60
    width = int(max(width, min(text_w, 1800), slides.SLIDE_WIDTH))
    wrapped = [_wrap(t, font, width - 60) for t in lines]
    n_lines = sum(len(w) for w in wrapped)
    kinds_seen = {str(v) for p in panels for v in np.unique(p[1])}
    key = slides.legend_image(
        [(_rgb(COLORS[n]), w) for n, w in KEY_WORDS.items() if n in kinds_seen], width - 60
    )
    top = 70
    grids_h = max(h for _, h in sizes)
    height = top + grids_h + 30 + line_h * n_lines + 20 + key.height + 20
    img = Image.new("RGB", (width, height), _WHITE)
    draw = ImageDraw.Draw(img)
    draw.text((30, 16), head, fill=_INK, font=_font(32, bold=True))
    x = 30
    for labels, kinds, name, boxes in panels:
        w, _ = _draw_grid(draw, x, top, labels, kinds, cell, name, boxes)
        x += w + 30
    y = top + grids_h + 24
    for chunk in wrapped:
        for t in chunk:
            draw.text((30, y), t, fill=_INK, font=font)
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
    buf = io.BytesIO()
    render_frame(walk, k, title).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


MAX_GIF_FRAMES = 200
MAX_GIF_PIXELS = 100_000_000  # all frames together: ~0.1 GB of RGB while encoding


def _palette() -> Image.Image:
    """The frames' colours, and blends of each with black for anti-aliased text: a fixed
    palette is fast to map to and keeps the GIF small."""
    base = [_WHITE, _INK, _GRID, _rgb(BOX)] + [_rgb(c) for c in set(COLORS.values())]
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
        sheet = Image.new("RGB", (w, h), _WHITE)
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
