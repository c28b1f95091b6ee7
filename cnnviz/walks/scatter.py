"""Scatter walks: a transposed convolution as stamps, input cell by input cell, and the same
numbers as a convolution over the zero-inserted input.

A step's stamp and running canvas are `conv_transpose2d` of the input with only that cell (or the
cells so far) kept: the engine's numbers, never recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.ops import conv_transpose2d
from cnnviz.shapes import output_size, pair
from cnnviz.walks.grids import INPUT, INSERTED, PADDING, as_filter, as_input, step_cell, taps
from cnnviz.walks.window import WindowWalk, conv_walk


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
        return step_cell(k, self.n_steps, self.input.shape[-1])

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
        rows, cols = taps(r, sh, dh, kh), taps(c, sw, dw, kw)
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
            hit[np.ix_(taps(r, sh, dh, kh), taps(c, sw, dw, kw))] = True
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
    x = as_input(input)
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
    x = as_input(input)
    w = as_filter(weight, x.shape[0])
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


def views_agree(walk: ScatterWalk) -> bool:
    """Do the scatter view and the convolution over the zero-inserted input give the same
    numbers? (Exactly for integer grids; within float rounding otherwise.)"""
    return bool(np.allclose(walk.as_conv.output, walk.output, rtol=1e-5, atol=1e-5))
