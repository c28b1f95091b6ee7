"""The sliding window, one step at a time: every multiply and every add, for convolution, max and
average pooling, and transposed convolution (as stamps, and as a convolution over the
zero-inserted input).

Every number comes from the engine: a convolution step is `cnnviz.trace` of that output cell, the
output so far is `conv2d`'s output with the later cells left empty (NaN), a pooling step's result
is `max_pool2d` / `avg_pool2d`'s cell, and a transposed step's stamp and running canvas are
`conv_transpose2d` of the input with only that cell (or the cells so far) kept. Nothing is
recomputed here except the explanation around those numbers (a pooling window's sum and
divisor), and the tests check that explanation against the engine's number.

Walks are lazy: `walk.step(k)` computes step k (0-based) when it is asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cnnviz.ops import (
    avg_pool2d,
    conv2d,
    conv_prepare,
    conv_transpose2d,
    max_pool2d,
    pool_windows,
)
from cnnviz.shapes import SettingError, crop_text, output_size, pair, resolve_conv_padding
from cnnviz.trace import trace

# What a cell of the drawn input grid is (the `codes` of a walk).
INPUT, PADDING, INSERTED, OVERHANG = 0, 1, 2, 3
CODE_NAMES = {
    INPUT: "input",
    PADDING: "padding",
    INSERTED: "inserted zero",
    OVERHANG: "ceil_mode overhang",
}
MODES = ("conv", "max_pool", "avg_pool", "conv_transpose")


def fmt(v: float, digits: int = 3) -> str:
    """A number as a student writes it: 3 not 3.0, -0.5, 0.333, -∞; empty for NaN (`digits`
    significant digits at most)."""
    v = float(v)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "-∞" if v < 0 else "∞"
    if v == 0:
        return "0"  # also -0.0
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return text


def term(v: float, digits: int = 3) -> str:
    """A number inside a sum or product: negative ones in brackets, 2×(-1)."""
    text = fmt(v, digits)
    return f"({text})" if text.startswith("-") else text


def _seq_sum(values: np.ndarray, dtype) -> np.floating:
    """Left-to-right sum in `dtype`: the order avg_pool2d adds a window's taps in."""
    acc = dtype.type(0)
    for v in np.asarray(values).ravel():
        acc = dtype.type(acc + v)
    return acc


# ----------------------------------------------------------------------------------- windows


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
        if not 0 <= k < self.n_steps:
            raise SettingError(f"step {k + 1} does not exist; there are {self.n_steps} steps.")
        return divmod(k, self.output.shape[-1])

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


def _f32(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if not np.isfinite(a).all():
        raise SettingError("The grids must hold ordinary numbers (no NaN or infinity).")
    return a


def _as_input(x) -> np.ndarray:
    a = _f32(x)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise SettingError(f"The input is one grid per channel (C, H, W), not shape {a.shape}.")
    return a


def _as_filter(w, channels: int) -> np.ndarray:
    """One filter: a (kH, kW) kernel for one channel or a (C, kH, kW) stack, one slice per channel."""
    a = _f32(w)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] != channels:
        raise SettingError(
            f"One filter has one kernel slice per input channel: {channels} slice(s) are needed, "
            f"the kernel has shape {a.shape}."
        )
    return a


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
    x = _as_input(input)
    w = _as_filter(weight, x.shape[0])[None]  # (1, C, kH, kW)
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
        raise SettingError(f"pooling is 'max' or 'avg', not {kind!r}.")
    x = _as_input(input)
    if kind == "avg" and pair(dilation, "dilation") != (1, 1):
        raise SettingError("Average pooling has no dilation in PyTorch; set dilation to 1.")
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
        rows = r * sh + dh * np.arange(kh)
        cols = c * sw + dw * np.arange(kw)
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
                total = _seq_sum(window, out.dtype)
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


# ------------------------------------------------------------------------- transposed conv


@dataclass(frozen=True)
class StampStep:
    """Input cell (row, col) stamps the kernel, scaled by its value, onto the canvas."""

    index: int
    row: int
    col: int
    values: np.ndarray  # (C,) the input cell in each channel
    stamps: np.ndarray  # (C, kH, kW) value x kernel slice, per channel (conv_transpose2d's)
    stamp: np.ndarray  # (kH, kW) the channels' stamps added: what lands on the canvas
    rows: np.ndarray  # (kH,) canvas row of each kernel row
    cols: np.ndarray  # (kW,) canvas column of each kernel column
    canvas: np.ndarray  # (Hc, Wc) the canvas after this stamp: all stamps so far, added up
    output: np.ndarray  # (Ho, Wo) conv_transpose2d of the input with only the cells so far

    @property
    def box(self) -> tuple[int, int, int, int]:
        return int(self.rows[0]), int(self.cols[0]), int(self.rows[-1]), int(self.cols[-1])


@dataclass
class ScatterWalk:
    """Transposed convolution as stamps: input cell by input cell, row by row.

    The canvas is the uncropped output (stamps `stride` apart); the output is the part inside
    `crop`: `padding` cells off the top/left, `padding - output_padding` off the bottom/right (so
    output_padding keeps stamped cells padding would have cut, and past the canvas adds cells no
    stamp reaches); then the bias is added.
    """

    input: np.ndarray  # (C, H, W)
    weight: np.ndarray  # (C, kH, kW) the one filter: kernel slice per input channel
    bias: float | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    output: np.ndarray  # (1, Ho, Wo) conv_transpose2d's output
    canvas_shape: tuple[int, int]
    as_conv: WindowWalk  # the same numbers as a convolution over the zero-inserted input

    @property
    def mode(self) -> str:
        return "conv_transpose"

    @property
    def n_steps(self) -> int:
        return int(self.input.shape[-2] * self.input.shape[-1])

    @property
    def crop(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the output on the canvas, inclusive."""
        (ph, pw), (ho, wo) = self.padding, self.output.shape[-2:]
        return ph, pw, ph + ho - 1, pw + wo - 1

    def _weight(self) -> np.ndarray:
        return self.weight[:, None]  # (C, 1, kH, kW): torch's transposed layout

    def _canvas(self, mask: np.ndarray) -> np.ndarray:
        """conv_transpose2d of the masked input, uncropped (padding 0), as the engine adds it."""
        out = conv_transpose2d(
            self.input * mask, self._weight(), None, self.stride, 0, 0, 1, self.dilation
        )[0]
        full = np.zeros(self.canvas_shape, dtype=np.float64)
        full[: out.shape[0], : out.shape[1]] = out
        return full

    def cell(self, k: int) -> tuple[int, int]:
        if not 0 <= k < self.n_steps:
            raise SettingError(f"step {k + 1} does not exist; there are {self.n_steps} steps.")
        return divmod(k, self.input.shape[-1])

    def mask_until(self, k: int) -> np.ndarray:
        m = np.zeros(self.input.shape[-2:], dtype=np.float32)
        m.reshape(-1)[: k + 1] = 1
        return m

    def step(self, k: int) -> StampStep:
        r, c = self.cell(k)
        one = np.zeros(self.input.shape[-2:], dtype=np.float32)
        one[r, c] = 1
        kh, kw = self.weight.shape[-2:]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        rows, cols = r * sh + dh * np.arange(kh), c * sw + dw * np.arange(kw)
        stamps = []
        for ch in range(self.input.shape[0]):  # each channel alone: its own stamp
            alone = conv_transpose2d(
                (self.input[ch] * one)[None],
                self.weight[ch][None, None],
                None,
                self.stride,
                0,
                0,
                1,
                self.dilation,
            )[0]
            stamps.append(alone[np.ix_(rows, cols)])
        canvas_one = self._canvas(one)
        mask = self.mask_until(k)
        return StampStep(
            k,
            r,
            c,
            self.input[:, r, c].astype(np.float64),
            np.array(stamps, dtype=np.float64),
            canvas_one[np.ix_(rows, cols)],
            rows,
            cols,
            self._canvas(mask),
            self._output(mask),
        )

    def _output(self, mask: np.ndarray) -> np.ndarray:
        """conv_transpose2d (cropped, bias added) of the input with only the masked cells."""
        bias = None if self.bias is None else np.array([self.bias], np.float32)
        return conv_transpose2d(
            self.input * mask,
            self._weight(),
            bias,
            self.stride,
            self.padding,
            self.output_padding,
            1,
            self.dilation,
        )[0]

    def steps(self):
        return (self.step(k) for k in range(self.n_steps))

    def stamped(self, k: int) -> np.ndarray:
        """Canvas cells that the stamps of input cells 0..k have landed on."""
        hit = np.zeros(self.canvas_shape, dtype=bool)
        kh, kw = self.weight.shape[-2:]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for i in range(k + 1):
            r, c = self.cell(i)
            hit[np.ix_(r * sh + dh * np.arange(kh), c * sw + dw * np.arange(kw))] = True
        return hit

    def output_until(self, k: int) -> np.ndarray:
        """The output after stamp k (the engine's numbers); cells no stamp has reached yet are
        empty (NaN) until the last step, when every cell, bias included, is filled in."""
        out = self._output(self.mask_until(k)).astype(np.float64)
        if k < self.n_steps - 1:
            top, left, bottom, right = self.crop
            out[~self.stamped(k)[top : bottom + 1, left : right + 1]] = np.nan
        return out


def zero_inserted(
    input, kernel_size, stride=1, padding=0, output_padding=0, dilation=1
) -> tuple[np.ndarray, np.ndarray]:
    """The input a plain convolution (stride 1, kernel flipped) turns into the transposed output.

    Put stride-1 zeros between neighbouring cells, then pad dilation*(k-1) - padding on each side
    (and output_padding more at the bottom/right); a negative amount crops instead. Returns the
    (C, H', W') grid and its codes (INPUT / INSERTED / PADDING).
    """
    x = _as_input(input)
    c, h, w = x.shape
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    oh, ow = pair(output_padding, "output_padding", minimum=0)
    dh, dw = pair(dilation, "dilation")
    zh, zw = (h - 1) * sh + 1, (w - 1) * sw + 1
    z = np.zeros((c, zh, zw), dtype=np.float32)
    z[:, ::sh, ::sw] = x
    codes = np.full((zh, zw), INSERTED, dtype=np.int8)
    codes[::sh, ::sw] = INPUT
    grid, cgrid = z, codes
    for axis, before, after in (
        (1, dh * (kh - 1) - ph, dh * (kh - 1) - ph + oh),
        (2, dw * (kw - 1) - pw, dw * (kw - 1) - pw + ow),
    ):
        n = grid.shape[axis]
        lo, hi = max(0, -before), n - max(0, -after)
        grid = np.take(grid, range(lo, hi), axis=axis)
        cgrid = np.take(cgrid, range(lo, hi), axis=axis - 1)
        widths = [(0, 0)] * 3
        widths[axis] = (max(0, before), max(0, after))
        grid = np.pad(grid, widths)
        cgrid = np.pad(cgrid, widths[1:], constant_values=PADDING)
    return grid, cgrid


def transpose_walk(
    input,
    weight,
    bias: float | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
) -> ScatterWalk:
    """A transposed convolution with one output channel: weight (C, kH, kW), one slice per input
    channel (torch's (C, 1, kH, kW)). Both views: `.step(k)` stamps, `.as_conv` the convolution
    over the zero-inserted input with the kernel flipped (same numbers, tested)."""
    x = _as_input(input)
    w = _as_filter(weight, x.shape[0])
    kh, kw = w.shape[-2:]
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    padding = pair(padding, "padding", minimum=0)
    output_padding = pair(output_padding, "output_padding", minimum=0)
    size = output_size(
        x.shape[-2:],
        (kh, kw),
        stride,
        padding,
        dilation,
        op="conv_transpose",
        output_padding=output_padding,
    ).size
    b = None if bias is None else np.array([bias], dtype=np.float32)
    out = conv_transpose2d(x, w[:, None], b, stride, padding, output_padding, 1, dilation)
    # every stamp's cells, and the output's (output_padding can reach past the last stamp)
    canvas = tuple(
        max((n - 1) * s + d * (k - 1) + 1, p + o)
        for n, s, d, k, p, o in zip(x.shape[1:], stride, dilation, (kh, kw), padding, size)
    )
    z, codes = zero_inserted(x, (kh, kw), stride, padding, output_padding, dilation)
    flipped = np.ascontiguousarray(w[:, ::-1, ::-1])
    as_conv = conv_walk(z, flipped, bias, 1, 0, dilation)
    as_conv.mode = "conv_transpose_as_conv"
    as_conv.codes = codes
    return ScatterWalk(
        x,
        w,
        None if b is None else float(b[0]),
        stride,
        padding,
        output_padding,
        dilation,
        out,
        canvas,
        as_conv,
    )


def make_walk(
    mode: str,
    input,
    weight=None,
    bias=None,
    *,
    kernel_size=None,
    stride=None,
    padding=0,
    dilation=1,
    padding_mode="zeros",
    output_padding=0,
    ceil_mode=False,
    count_include_pad=True,
):
    """The walk for a mode of the Step by step page: "conv", "max_pool", "avg_pool",
    "conv_transpose" (stride None means torch's default: 1, or the kernel for pooling)."""
    if mode == "conv":
        return conv_walk(
            input, weight, bias, 1 if stride is None else stride, padding, dilation, padding_mode
        )
    if mode in ("max_pool", "avg_pool"):
        return pool_walk(
            input, mode[:3], kernel_size, stride, padding, dilation, ceil_mode, count_include_pad
        )
    if mode == "conv_transpose":
        return transpose_walk(
            input, weight, bias, 1 if stride is None else stride, padding, output_padding, dilation
        )
    raise SettingError(f"mode {mode!r} is unknown; use one of {', '.join(MODES)}.")


# ---------------------------------------------------------------------------- the words


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


def views_agree(walk: ScatterWalk) -> bool:
    """Do the scatter view and the convolution over the zero-inserted input give the same
    numbers? (Exactly for integer grids; within float rounding otherwise.)"""
    return bool(np.allclose(walk.as_conv.output, walk.output, rtol=1e-5, atol=1e-5))


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
