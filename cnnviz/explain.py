"""The words around a walk's numbers: each step's arithmetic as lines a student can check by hand,
and sentences about the walk (sizes, channels, the drawn grid, the transposed conv's two views).

Numbers come from `cnnviz.walks` (the engine's); this module only writes them out.
"""

from __future__ import annotations

from cnnviz.numbers import fmt, term
from cnnviz.shapes import OutputSize
from cnnviz.size_words import crop_text
from cnnviz.walks import INSERTED, OVERHANG, PADDING, ScatterWalk, StampStep, WindowStep

# padding mode -> what its frame holds
PADDING_WORDS = {
    "zeros": "zeros",
    "reflect": "the input mirrored at its edge",
    "replicate": "copies of the edge cells",
    "circular": "the input wrapped around from the other side",
}


def conv_equation(step: WindowStep) -> list[str]:
    """The arithmetic of a convolution step as lines a student can check by hand."""
    lines = []
    for p in step.parts:
        terms = " + ".join(
            f"{term(a)}×{term(b)}" for a, b in zip(p.window.ravel(), p.weights.ravel())
        )
        lines.append(f"channel {p.channel + 1}: {terms} = {fmt(p.sum)}")
    if len(step.parts) > 1 or step.bias is not None:
        sums = " + ".join(term(p.sum) for p in step.parts)
        if step.bias is not None:
            sums += f" + bias {fmt(step.bias)}"
        lines.append(f"output: {sums} = {fmt(step.total)}")
    return lines


def pool_equation(step: WindowStep, kind: str) -> list[str]:
    """The max or average of each channel's window, in words a student can check (a ceil_mode
    window's cells past the padded input hold nothing and are left out)."""
    lines = []
    for p in step.parts:
        seen = p.window.ravel() if p.covered is None else p.window[p.covered]
        vals = ", ".join(fmt(v) for v in seen)
        if kind == "max":
            lines.append(f"channel {p.channel + 1}: max({vals}) = {fmt(p.result)}")
        else:
            adds = " + ".join(term(v) for v in seen)
            lines.append(
                f"channel {p.channel + 1}: ({adds}) / {p.divisor} = {fmt(p.sum)} / {p.divisor} "
                f"= {fmt(p.result)}"
            )
    return lines


def window_equation(mode: str, step: WindowStep) -> list[str]:
    """A window walk's step as lines: the pooling of each window, or the convolution's sums
    (the conv view of a transposed convolution too)."""
    if mode in ("max_pool", "avg_pool"):
        return pool_equation(step, mode[:3])
    return conv_equation(step)


def stamp_equation(walk: ScatterWalk, step: StampStep) -> list[str]:
    """What the stamp of one input cell is, per channel."""
    lines = []
    for ch, v in enumerate(step.values):
        lines.append(
            f"channel {ch + 1}: input {term(v)} × kernel slice {ch + 1} → stamp "
            + "; ".join(" ".join(fmt(a) for a in row) for row in step.stamps[ch])
        )
    if len(step.values) > 1:
        lines.append(
            "stamps added: " + "; ".join(" ".join(fmt(a) for a in row) for row in step.stamp)
        )
    return lines


def canvas_text(walk: ScatterWalk) -> str:
    """What the frame on the canvas keeps, in the walk's numbers: padding crops, and what
    output_padding gives back at the bottom/right (stamped cells, then cells no stamp reaches)."""
    (ph, pw), (oh, ow) = walk.padding, walk.output_padding
    if (ph, pw, oh, ow) == (0, 0, 0, 0):
        return "Nothing is cropped: the output is the whole canvas."
    if (ph, oh) == (pw, ow) and not oh:
        return f"Padding crops {ph} from each side, rows and columns."
    (h, w), (kh, kw) = walk.input.shape[-2:], walk.weight.shape[-2:]
    (sh, sw), (dh, dw) = walk.stride, walk.dilation
    rows = crop_text("height", ph, oh, (h - 1) * sh + dh * (kh - 1) + 1)
    cols = crop_text("width", pw, ow, (w - 1) * sw + dw * (kw - 1) + 1)
    return f"Rows: {rows} Columns: {cols}"


def zero_insertion_text(walk: ScatterWalk) -> str:
    """How the transposed convolution becomes a plain one, in the walk's own numbers."""
    (h, w), (kh, kw) = walk.input.shape[-2:], walk.weight.shape[-2:]
    (sh, sw), (ph, pw), (oh, ow) = walk.stride, walk.padding, walk.output_padding
    (dh, dw) = walk.dilation
    zh, zw = (h - 1) * sh + 1, (w - 1) * sw + 1
    gh, gw = walk.as_conv.grid.shape[-2:]
    ho, wo = walk.output.shape[-2:]
    words = []
    if (sh, sw) != (1, 1):
        gap = f"{sh - 1}" if sh == sw else f"{sh - 1} (rows) and {sw - 1} (columns)"
        words.append(
            f"Stride {sh if sh == sw else (sh, sw)} puts {gap} zero(s) between neighbouring "
            f"input cells: {h}×{w} → {zh}×{zw}."
        )
    eh, ew = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    edge = f"{eh}" if eh == ew else f"{eh} (rows) and {ew} (columns)"
    how = "zeros added" if min(eh, ew) >= 0 else "zeros added; a negative amount crops"
    text = f"Each side gets dilation·(kernel − 1) − padding = {edge} ({how})"
    if oh or ow:
        text += (
            f"; output_padding adds to the bottom and right: the bottom gets {eh} + {oh} = "
            f"{eh + oh}, the right {ew} + {ow} = {ew + ow}"
        )
    words.append(text + f": {gh}×{gw}.")
    words.append(
        "The kernel is flipped (turned 180°) and slides with stride 1"
        + (f" and dilation {dh if dh == dw else (dh, dw)}" if (dh, dw) != (1, 1) else "")
        + f": {ho}×{wo}, the same numbers as the stamps."
    )
    return " ".join(words)


def size_lines(out: OutputSize) -> list[str]:
    """The output size's formula per dimension in markdown (one line when both agree)."""
    dims = out.dims[:1] if out.symmetric else out.dims
    return [
        f"{'height and width' if len(dims) == 1 else d.axis}: `{d.formula}` {d.explanation}"
        for d in dims
    ]


def channel_text(
    mode: str, channels: int, kernel: tuple[int, int] | None, include_pad: bool
) -> str:
    """What one filter (or pooling) does with the channels, said plainly (markdown)."""
    c = channels
    if mode == "conv":
        kh, kw = kernel
        return (
            f"**One filter spans all input channels and yields one output channel.** This "
            f"filter is {c}×{kh}×{kw}: one {kh}×{kw} kernel slice per input channel. At every "
            f"step each slice multiplies its own channel's window, each channel gives a sum, "
            f"and the sums (plus the bias) add up to one number in the single output map. A "
            f"layer with 8 filters does this 8 times and makes 8 output channels."
        )
    if mode in ("max_pool", "avg_pool"):
        what = (
            "largest number (max pooling pads with −∞, so padding never wins)"
            if mode == "max_pool"
            else "sum of the numbers it covers, divided by how many cells it covers ("
            + ("padding cells included" if include_pad else "input cells only")
            + "; never ceil_mode's cells past the end)"
        )
        return (
            f"**Pooling works on each channel on its own:** {c} channel{'s' * (c > 1)} in, "
            f"{c} out, no weights. The window takes the {what}."
        )
    together = f"the {c} channels' stamps and " if c > 1 else ""
    return (
        f"**One filter spans all input channels and yields one output channel.** Each "
        f"input cell stamps its channel's kernel slice, scaled by the cell's value, onto the "
        f"output; {together}overlapping stamps add up; "
        f"stride spaces the stamps apart, padding crops the border, output_padding makes the "
        f"output longer at the bottom/right (first over stamped cells padding would have "
        f"cut, then past the last stamp, where only the bias lands), and the bias is added "
        f"at the end."
    )


def legend_words(
    mode: str, codes: set[int], dilation: tuple[int, int], padding_mode: str
) -> list[str]:
    """What the colours of a window walk's drawn grid mean, for the kinds of cell it has."""
    words = ["orange: the window's taps, outlined"]
    if PADDING in codes:
        fill = "−∞, so it never wins" if mode == "max_pool" else PADDING_WORDS[padding_mode]
        words.append(f"grey: padding ({fill})")
    if INSERTED in codes:
        words.append("white: zeros inserted between input cells (stride)")
    if OVERHANG in codes:
        words.append(
            "blank light grey at the bottom/right: past the end of the padded input, "
            "where ceil_mode's last window hangs over and finds nothing (not counted)"
        )
    if tuple(dilation) != (1, 1):
        words.append("dilation: the kernel's taps are spread out, the cells between are skipped")
    return words


def cell_text(k: int, n_steps: int, row: int, col: int, values) -> str:
    """ "Step 3 of 9: output cell (row 0, column 2) = <b>4</b>" for a window walk's step."""
    shown = ", ".join(fmt(v) for v in values)
    return f"Step {k + 1} of {n_steps}: output cell (row {row}, column {col}) = <b>{shown}</b>"


def stamp_cell_text(k: int, walk: ScatterWalk, step: StampStep) -> str:
    """ "Step 1 of 9: input cell (row 0, column 0) = <b>1</b> stamps its kernel"."""
    shown = ", ".join(fmt(v) for v in step.values)
    return (
        f"Step {k + 1} of {walk.n_steps}: input cell (row {step.row}, column {step.col}) = "
        f"<b>{shown}</b> stamps its kernel"
    )
