"""The sentences of an output size: what the windows leave out, what ceil_mode keeps or drops,
what a transposed conv's padding crops, how average pooling divides; in the layer's own numbers.

`cnnviz.shapes` computes the sizes and calls these for their explanations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnviz.shapes import DimSize, OutputSize

ROWS = {"height": "rows", "width": "columns"}
ENDS = {"height": ("top", "bottom"), "width": ("left", "right")}


def count_text(n: int, axis: str, what: str = "") -> str:
    """'1 input row', '3 padding columns'."""
    rows = ROWS[axis]
    return f"{n} {what + ' ' if what else ''}{rows if n != 1 else rows[:-1]}"


def describe_coverage(
    axis: str, tail: int, skipped: int, remainder: int, s: int, after: int = 0
) -> str:
    """What the windows leave out, for a size rounded down (floor)."""
    rows = ROWS[axis]
    words = []
    if remainder and s > 1:
        if not tail:
            lost = "only padding, so no input is lost"
        elif tail == remainder:
            lost = f"the last input {rows[:-1]}" if tail == 1 else f"the last {tail} input {rows}"
        else:
            lost = f"{count_text(tail, axis, 'input')} and {count_text(remainder - tail, axis, 'padding')}"
        last = f"last {rows[:-1]}" if remainder == 1 else f"last {remainder} {rows}"
        of = " of the padded input" if after else ""
        words.append(
            f"The division leaves a remainder of {remainder}: floor drops the partial step, so "
            f"the {last}{of} {'are' if remainder > 1 else 'is'} never reached; that is {lost}."
        )
    elif tail:
        which = f"last {rows[:-1]}" if tail == 1 else f"last {tail} {rows}"
        words.append(f"The {which} of the input {'is' if tail == 1 else 'are'} never covered.")
    if skipped > tail:
        words.append(
            f"{skipped - tail} other input {rows} fall between windows (stride or dilation gaps) "
            f"and are never read."
        )
    if not words:
        words.append(f"Every input {rows[:-1]} is read by at least one window.")
    return " ".join(words)


def nth(i: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 22nd."""
    end = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{end}"


def last_window_cells(dim: DimSize) -> int:
    """Cells of the padded input the last window covers along this dimension: the (dilated)
    kernel, or fewer for the partial window ceil_mode keeps. Average pooling divides by the
    product of the two dimensions' counts (padding included, torch's count_include_pad=True)."""
    padded = dim.input + sum(dim.padding)
    return min(dim.effective_kernel, padded - (dim.size - 1) * dim.stride)


def avg_pool_divisor_text(size: OutputSize) -> str:
    """How average pooling (torch's defaults) divides, in this layer's numbers: by the cells a
    window covers, padding included; fewer for the partial windows ceil_mode keeps."""
    h, w = size.dims
    kh, kw = h.kernel, w.kernel
    text = f"divides by the cells a window covers: {kh} × {kw} = {kh * kw}"
    if any(h.padding + w.padding):
        text += ", padding cells included (they hold 0; PyTorch's default count_include_pad=True)"
    hl, wl = last_window_cells(h), last_window_cells(w)
    if (hl, wl) != (kh, kw):
        short = []
        if hl < kh:
            short.append(f"the last row of windows covers only {hl} of its {kh} rows")
        if wl < kw:
            short.append(f"the last column of windows only {wl} of its {kw} columns")
        text += (
            f"; ceil_mode's partial windows divide by fewer: {' and '.join(short)}, so the last "
            f"window divides by {hl} × {wl} = {hl * wl}, not {kh * kw}"
        )
    return text


def ceil_text(axis: str, n: int, k: int, s: int, p: int, d: int, out: int, dropped: bool) -> str:
    """What ceil_mode does along one dimension, in the layer's own numbers."""
    rows = ROWS[axis]
    row = rows[:-1]
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    padded = "padded input" if p else "input"
    if num % s == 0:
        return (
            f"ceil_mode changes nothing here: {num} / {s} has no remainder, so the last window "
            f"ends exactly at the end of the {padded}."
        )
    if dropped:
        start = out * s - p  # where the window ceil would add starts (input coordinate)
        where = "in the right padding" if start < n + p else f"past the {padded}"
        return (
            f"ceil_mode rounds {num} / {s} up, which would add a {nth(out + 1)} window starting at "
            f"input {row} {start} (counting from 0): {where}, after the last input {row} "
            f"({n - 1}). PyTorch drops a last window that would start there, so the size stays "
            f"{out}, as without ceil_mode."
        )
    first = (out - 1) * s  # the last window's first cell, counted on the padded input
    covered = n + 2 * p - first
    inputs = n - max(first - p, 0)
    parts = ""
    if covered > inputs:
        parts = f" ({count_text(inputs, axis, 'input')} and {count_text(covered - inputs, axis, 'padding')})"
    start = first - p
    where = "" if start >= 0 else ", in the left padding,"
    over = first + eff - n - 2 * p
    text = (
        f"ceil_mode rounds {num} / {s} up, so PyTorch keeps a last, partial window (the "
        f"{nth(out)}). It starts at input {row} {start} (counting from 0){where} and would span "
        f"{count_text(eff, axis)}, but only {covered} {'is' if covered == 1 else 'are'} left in the "
        f"{padded}{parts}; the other {over} {'lies' if over == 1 else 'lie'} past the "
        f"end, where there is nothing to read. Max pooling takes the largest of what it covers"
    )
    if d == 1:  # average pooling has no dilation
        text += f"; average pooling divides by the cells it covers, {covered} (not {k}) along the {axis}"
        if covered > inputs:
            text += ", padding included (PyTorch's default count_include_pad=True)"
    return text + "."


def crop_text(axis: str, padding: int, output_padding: int, canvas: int) -> str:
    """What padding and output_padding do to a transposed conv's canvas (`canvas` cells long:
    (in − 1)·stride + dilation·(kernel − 1) + 1) along one dimension.

    The output is the canvas from `padding` on, `output_padding` cells longer than a symmetric
    crop: first canvas cells the crop would have cut at the end (holding what the stamps put
    there), then cells past the canvas that no stamp reaches (only the bias)."""
    p, op, n = padding, output_padding, canvas
    first, last = ENDS[axis]
    if not op:
        return f"padding crops {p} from each side." if p else "padding 0 crops nothing."
    end = n - p + op  # the output ends before this canvas cell
    kept = max(0, min(n, end) - max(p, n - p))  # cells a symmetric crop would have cut
    past = max(0, end - max(p, n))  # cells past the canvas
    words = []
    if p:
        cut = f"only {p - op}" if p > op else "nothing"
        words.append(f"padding crops {p} from the {first} but {cut} from the {last}")
    if kept:
        words.append(
            f"output_padding {op} keeps {count_text(kept, axis)} at the {last} that padding "
            f"would have cropped, with what the stamps put there"
        )
    if past:
        words.append(
            f"{'it' if kept else f'output_padding {op}'} adds "
            f"{count_text(past, axis, 'empty')} past the last stamp at the {last} "
            f"(only the bias lands there)"
        )
    return "; ".join(words) + "."
