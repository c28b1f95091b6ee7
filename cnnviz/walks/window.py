"""Window walks: a window (a convolution's filter, or a pooling window) sliding over a grid,
output cell by output cell.

Every number comes from the engine: a convolution step is `cnnviz.trace` of that output cell, the
output so far is `conv2d`'s output with the later cells left empty (NaN), a pooling step's result
is `max_pool2d` / `avg_pool2d`'s cell. Nothing is recomputed here except a pooling window's sum
and divisor, and the tests check those against the engine's number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnviz.ops import avg_pool2d, conv2d, max_pool2d
from cnnviz.ops.arrays import sum_from_zero
from cnnviz.ops.conv import conv_prepare
from cnnviz.ops.pool import pool_windows
from cnnviz.shapes import SettingError, output_size, pair, resolve_conv_padding
from cnnviz.trace import trace
from cnnviz.walks.grids import INPUT, OVERHANG, PADDING, as_filter, as_input, step_cell, taps


@dataclass(frozen=True)
class ChannelPart:
    """One input channel's part of a step: the window it sees and what it makes of it.

    Convolution: `weights`, `products`, and their `sum`. Max pooling: `result` is the max and
    `winner` the (row, col) of the winning tap in the kernel grid (None if the window saw only
    padding). Average pooling: `sum` of the window, `divisor`, and `result` = sum / divisor.
    """

    channel: int
    window: np.ndarray  # (kH, kW) values under the taps, padding included
    weights: np.ndarray | None = None
    products: np.ndarray | None = None
    sum: float | None = None
    result: float | None = None
    winner: tuple[int, int] | None = None
    divisor: int | None = None
    covered: np.ndarray | None = None  # (kH, kW) pooling: taps inside the padded input (not the
    # ceil_mode overhang past it, which holds nothing and is left out of the written arithmetic)


@dataclass(frozen=True)
class WindowStep:
    """Output cell (row, col): its window on the drawn (padded) grid and its arithmetic."""

    index: int
    row: int
    col: int
    rows: np.ndarray  # (kH,) row of each kernel row in the drawn grid
    cols: np.ndarray  # (kW,) column of each kernel column in the drawn grid
    parts: tuple[ChannelPart, ...]
    bias: float | None  # convolution only
    total: float | None  # convolution: sum of the parts' sums, plus bias
    values: np.ndarray  # (out_channels,) what goes into the output cell, per output channel

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the window on the drawn grid, inclusive."""
        return int(self.rows[0]), int(self.cols[0]), int(self.rows[-1]), int(self.cols[-1])


@dataclass
class WindowWalk:
    """A walk of a window over a grid: convolution or pooling (or the conv equivalent of a
    transposed convolution). `grid` is what is drawn: the input with its padding."""

    mode: str
    grid: np.ndarray  # (C, Hd, Wd) drawn input: padding (and inserted zeros) included
    codes: np.ndarray  # (Hd, Wd) INPUT / PADDING / INSERTED / OVERHANG
    output: np.ndarray  # (O, Ho, Wo) the engine's output
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    weight: np.ndarray | None  # (C, kH, kW) the one filter (convolution)
    bias: float | None
    _step: object = field(repr=False, default=None)

    @property
    def n_steps(self) -> int:
        return int(self.output.shape[-2] * self.output.shape[-1])

    def cell(self, k: int) -> tuple[int, int]:
        """The output (row, col) computed at step k: row by row, left to right."""
        return step_cell(k, self.n_steps, self.output.shape[-1])

    def step(self, k: int) -> WindowStep:
        return self._step(k)  # type: ignore[misc]

    def output_until(self, k: int) -> np.ndarray:
        """The output after step k: cells 0..k filled in (the engine's numbers), later ones NaN."""
        out = np.full(self.output.shape, np.nan, dtype=np.float64)
        flat_out, flat_src = out.reshape(out.shape[0], -1), self.output.reshape(out.shape[0], -1)
        flat_out[:, : k + 1] = flat_src[:, : k + 1]
        return out

    def steps(self):
        return (self.step(k) for k in range(self.n_steps))


def conv_walk(
    input,
    weight,
    bias: float | None = None,
    stride=1,
    padding=0,
    dilation=1,
    padding_mode: str = "zeros",
) -> WindowWalk:
    """One filter (C, kH, kW) sliding over a (C, H, W) input: one output channel.

    Each step is `cnnviz.trace` of one output cell; the output is `cnnviz.conv2d`'s.
    """
    x = as_input(input)
    w = as_filter(weight, x.shape[0])[None]  # (1, C, kH, kW)
    b = None if bias is None else np.array([bias], dtype=np.float32)
    kh, kw = w.shape[-2:]
    (pt, pb), (pl, pr) = resolve_conv_padding(padding, (kh, kw), stride, dilation)
    output_size(x.shape[-2:], (kh, kw), stride, padding, dilation, padding_mode=padding_mode)
    xp, _, _, _ = conv_prepare(x, w, stride, padding, dilation, 1, padding_mode)
    out = conv2d(x, w, b, stride, padding, dilation, 1, padding_mode)
    codes = np.full(xp.shape[-2:], PADDING, dtype=np.int8)
    codes[pt : pt + x.shape[1], pl : pl + x.shape[2]] = INPUT
    walk = WindowWalk(
        "conv",
        xp[0],
        codes,
        out,
        (kh, kw),
        pair(stride, "stride"),
        pair(dilation, "dilation"),
        w[0],
        None if b is None else float(b[0]),
    )

    def step(k: int) -> WindowStep:
        r, c = walk.cell(k)
        t = trace(x, w, b, stride, padding, dilation, 1, padding_mode, out_channel=0, row=r, col=c)
        parts = tuple(
            ChannelPart(ch.in_channel, ch.window, ch.weights, ch.products, float(ch.sum))
            for ch in t.channels
        )
        return WindowStep(
            k,
            r,
            c,
            t.rows + pt,
            t.cols + pl,
            parts,
            None if b is None else float(t.bias),
            float(t.total),
            np.array([t.total], dtype=np.float64),
        )

    walk._step = step
    return walk


def pool_walk(
    input,
    kind: str = "max",
    kernel_size=2,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> WindowWalk:
    """Max or average pooling over a (C, H, W) input: each channel on its own, C outputs.

    The results are `max_pool2d` (with its winner indices) or `avg_pool2d`. Max pooling pads with
    -inf (padding never wins), average pooling with 0.
    """
    if kind not in ("max", "avg"):
        raise SettingError(f"pooling is 'max' or 'avg', not {kind!r}.", op="pool")
    x = as_input(input)
    if kind == "avg" and pair(dilation, "dilation") != (1, 1):
        raise SettingError(
            "Average pooling has no dilation in PyTorch; set dilation to 1.", op="pool"
        )
    output_size(
        x.shape[-2:], kernel_size, stride, padding, dilation, op="pool", ceil_mode=ceil_mode
    )
    fill = -np.inf if kind == "max" else 0.0
    xp, _, _, (sh, sw), (ph, pw) = pool_windows(
        x, kernel_size, stride, padding, dilation, ceil_mode, fill
    )
    h, w = x.shape[-2:]
    if kind == "max":
        out, index = max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    else:
        out = avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)
        index = None
    codes = np.full(xp.shape[-2:], OVERHANG, dtype=np.int8)
    codes[: h + 2 * ph, : w + 2 * pw] = PADDING
    codes[ph : ph + h, pw : pw + w] = INPUT
    kh, kw = pair(kernel_size, "kernel_size")
    dh, dw = pair(dilation, "dilation")
    walk = WindowWalk(f"{kind}_pool", xp, codes, out, (kh, kw), (sh, sw), (dh, dw), None, None)

    def step(k: int) -> WindowStep:
        r, c = walk.cell(k)
        rows, cols = taps(r, sh, dh, kh), taps(c, sw, dw, kw)
        parts = []
        covered = codes[np.ix_(rows, cols)] != OVERHANG
        for ch in range(x.shape[0]):
            window = xp[ch][np.ix_(rows, cols)]
            result = float(out[ch, r, c])
            if kind == "max":
                winner = None
                flat = int(index[ch, r, c])
                if flat >= 0:
                    wr, wc = divmod(flat, w)
                    winner = (
                        int(np.flatnonzero(rows == wr + ph)[0]),
                        int(np.flatnonzero(cols == wc + pw)[0]),
                    )
                parts.append(ChannelPart(ch, window, result=result, winner=winner, covered=covered))
            else:
                inside = codes[np.ix_(rows, cols)]
                counted = (inside == INPUT) | ((inside == PADDING) & count_include_pad)
                total = sum_from_zero(window, out.dtype)  # avg_pool2d's order
                parts.append(
                    ChannelPart(
                        ch,
                        window,
                        sum=float(total),
                        result=result,
                        divisor=int(counted.sum()),
                        covered=covered,
                    )
                )
        return WindowStep(
            k, r, c, rows, cols, tuple(parts), None, None, out[:, r, c].astype(np.float64)
        )

    walk._step = step
    return walk
