"""The strips of the Output size page, as Vega-Lite charts: which input cells each window reads
(conv, pool) and where each input cell stamps the kernel (transposed conv), along one dimension.
No streamlit here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from cnnviz.shapes import DimSize

# cell codes of the coverage grid, and their colours (colour-blind-safe: blue/orange/greys)
_CODES = (
    ("empty", "#ffffff"),
    ("padding", "#d9d9d9"),
    ("input", "#c6dbef"),
    ("never read", "#fdae6b"),
    ("tap on input", "#2171b5"),
    ("tap on padding", "#737373"),
    ("past the end (ceil_mode)", "#f2f0f7"),
    ("tap past the end: nothing there", "#bcbddc"),
)
MAX_WINDOWS = 16  # more windows than this: the first and last eight are drawn
MAX_CELLS = 400  # a wider strip is not drawn (the figures return None)


MAX_TICKS = 40  # a wider strip labels every 5th, 10th... column, not each one


def _ticks(labels: list[str]) -> list[int]:
    """The columns whose label is written: all of them up to MAX_TICKS; past that, the numbers
    divisible by a round step (5, 10, 20, 50...) that keeps about a dozen of them, and where a
    run of cells that are not numbers (padding "p", past the end "–", cropped "✂") starts or
    ends, unless a number is written next to it. At 224 columns, a label on each was unreadable
    and cost the browser about 3 s of CPU per page."""
    if len(labels) <= MAX_TICKS:
        return list(range(len(labels)))
    step = next(s for s in (5, 10, 20, 25, 50, 100, 200) if len(labels) / s <= 12)
    numbers = {i: int(t) for i, t in enumerate(labels) if t.lstrip("-").isdigit()}
    numbered = {i for i, v in numbers.items() if v % step == 0}
    keep = set(numbered)
    for i, text in enumerate(labels):
        if i in numbers:
            continue
        edge = i in (0, len(labels) - 1) or labels[i - 1] != text or labels[i + 1] != text
        if edge and not any(abs(i - j) < step / 2 for j in numbered):
            keep.add(i)
    return sorted(keep)


@dataclass(frozen=True)
class Strip:
    """A grid of coded cells (codes index _CODES): a row per window (or stamp) and the input (or
    output) row, the text shown over each cell, the column and row labels and the title."""

    z: np.ndarray
    hover: list[list[str]]
    xlabels: list[str]
    ylabels: list[str]
    title: str
    xtitle: str
    names: dict = field(default_factory=dict)  # code -> the legend's word for it here

    @property
    def ticks(self) -> list[int]:
        """The columns whose label is written (`_ticks`)."""
        return _ticks(self.xlabels)

    def legend(self) -> list[tuple[str, str]]:
        """(word, colour) of each code on screen, in code order; empty cells have none."""
        return [
            (self.names.get(code, name), color)
            for code, (name, color) in enumerate(_CODES)
            if code and (self.z == code).any()
        ]


def strip_spec(strip: Strip) -> dict:
    """The strip as a Vega-Lite chart: a square per coded cell, its text on hover, the column
    labels on top (only `ticks`), the row labels on the left, a legend below."""
    rows, cols = strip.z.shape
    words = {code: strip.names.get(code, name) for code, (name, _) in enumerate(_CODES)}
    cells = [
        {"col": c, "row": r, "what": words[int(code)], "tip": strip.hover[r][c]}
        for r in range(rows)
        for c in range(cols)
        if (code := strip.z[r, c])
    ]
    legend = strip.legend()
    ticks = strip.ticks
    return {
        "title": {"text": strip.title, "anchor": "start", "fontSize": 15},
        # the whole chart's: title, column labels and legend (about 190 px) and 26 px a row
        "height": 190 + 26 * rows,
        "data": {"values": cells},
        "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1 if cols <= 120 else 0},
        "encoding": {
            "x": {
                "field": "col",
                "type": "ordinal",
                "scale": {"domain": list(range(cols))},
                "axis": {
                    "orient": "top",
                    "title": strip.xtitle,
                    "values": ticks,
                    "labelExpr": f"{json.dumps(strip.xlabels)}[datum.value]",
                    "labelAngle": 0,
                    "ticks": False,
                    "domain": False,
                },
            },
            "y": {
                "field": "row",
                "type": "ordinal",
                "scale": {"domain": list(range(rows))},
                "axis": {
                    "title": None,
                    "labelExpr": f"{json.dumps(strip.ylabels)}[datum.value]",
                    "labelOverlap": False,
                    "ticks": False,
                    "domain": False,
                },
            },
            "color": {
                "field": "what",
                "type": "nominal",
                "scale": {"domain": [w for w, _ in legend], "range": [c for _, c in legend]},
                "legend": {"orient": "bottom", "title": None, "columns": 4},
            },
            "tooltip": [{"field": "tip", "title": "cell"}],
        },
        "config": {"view": {"stroke": None}},
    }


def _shown(count: int) -> list[int]:
    if count <= MAX_WINDOWS:
        return list(range(count))
    half = MAX_WINDOWS // 2
    return list(range(half)) + list(range(count - half, count))


def coverage_figure(dim: DimSize) -> Strip | None:
    """Which input cells each window reads, along one dimension (conv or pool).

    Row 0 is the padded input (padding grey, cells no window reads orange); each further row is
    one output cell's window, its kernel taps dark. Cells past the padded input, which only a
    ceil_mode window hangs over, are neither input nor padding: they hold nothing.
    """
    before, after = dim.padding
    width = before + dim.input + after
    width += max(0, (dim.size - 1) * dim.stride + dim.effective_kernel - width)  # ceil overhang
    if width > MAX_CELLS:
        return None
    pos = np.arange(width) - before
    is_input = (pos >= 0) & (pos < dim.input)
    beyond = pos >= dim.input + after  # past the padded input: ceil_mode's overhang
    read = np.zeros(width, dtype=bool)
    for o in range(dim.size):
        read[o * dim.stride + dim.dilation * np.arange(dim.kernel)] = True
    top = np.where(is_input, np.where(read, 2, 3), np.where(beyond, 6, 1))
    rows, hover = [top], [[_cell_text(p, i, b) for p, i, b in zip(pos, is_input, beyond)]]
    ylabels = ["input"]
    for o in _shown(dim.size):
        row = np.zeros(width, dtype=int)
        start = o * dim.stride
        taps = start + dim.dilation * np.arange(dim.kernel)
        span = slice(start, taps[-1] + 1)
        row[span] = np.where(is_input[span], 2, np.where(beyond[span], 6, 1))
        row[taps] = np.where(is_input[taps], 4, np.where(beyond[taps], 7, 5))
        rows.append(row)
        hover.append(
            [
                f"output {o}: tap {int(np.where(taps == c)[0][0])} reads "
                f"{_cell_text(pos[c], is_input[c], beyond[c])}"
                if c in taps
                else ""
                for c in range(width)
            ]
        )
        ylabels.append(f"out {o}")
    xlabels = [str(p) if i else ("–" if b else "p") for p, i, b in zip(pos, is_input, beyond)]
    skipped = "" if dim.size <= MAX_WINDOWS else f" (first and last {MAX_WINDOWS // 2} shown)"
    title = f"{dim.axis}: {dim.size} windows{skipped}"
    return Strip(np.array(rows), hover, xlabels, ylabels, title, f"input {dim.axis} index")


def _cell_text(p: int, inside: bool, beyond: bool = False) -> str:
    if beyond:
        return f"nothing at {p}: past the end of the padded input"
    return f"input {p}" if inside else f"padding at {p}"


def stamp_figure(dim: DimSize) -> Strip | None:
    """Transposed conv along one dimension: where each input cell stamps the kernel.

    Columns are the output before cropping; the `padding` cells cropped at each end are grey.
    """
    full = (dim.input - 1) * dim.stride + dim.effective_kernel + dim.output_padding
    if full > MAX_CELLS:
        return None
    p = dim.padding[0]
    kept = (np.arange(full) >= p) & (np.arange(full) < p + dim.size)
    rows, hover, ylabels = [], [], []
    for i in _shown(dim.input):
        row = np.zeros(full, dtype=int)
        taps = i * dim.stride + dim.dilation * np.arange(dim.kernel)
        row[taps] = np.where(kept[taps], 4, 5)
        rows.append(row)
        hover.append(
            [
                f"input {i} × kernel tap {int(np.where(taps == c)[0][0])} → "
                + (f"output {c - p}" if kept[c] else "cropped by padding")
                if c in taps
                else ""
                for c in range(full)
            ]
        )
        ylabels.append(f"in {i}")
    out_row = np.where(kept, 2, 1)
    rows.append(out_row)
    hover.append([f"output {c - p}" if kept[c] else "cropped" for c in range(full)])
    ylabels.append("output")
    xlabels = [str(c - p) if kept[c] else "✂" for c in range(full)]
    title = f"{dim.axis}: {dim.input} stamps, {dim.size} outputs kept"
    names = {1: "cropped by padding", 2: "output cell", 4: "stamp kept", 5: "stamp cropped"}
    return Strip(np.array(rows), hover, xlabels, ylabels, title, f"output {dim.axis} index", names)
