"""One output cell of a convolution, explained: its window, every product, every sum.

The sums are done in the order `cnnviz.ops.conv2d` does them (per input channel, kernel taps in
row-major order; then channel by channel; then the bias), in the same dtype, so `total` is the
very number `conv2d` puts in that cell, not merely a close one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.ops.arrays import PaddingMode, sum_from_zero
from cnnviz.ops.conv import conv_prepare
from cnnviz.shapes import SettingError, pair, resolve_conv_padding


@dataclass(frozen=True)
class ChannelTrace:
    """What one input channel adds to the cell: window * kernel slice, summed."""

    in_channel: int
    window: np.ndarray  # (kH, kW) values under the kernel taps, padding included
    weights: np.ndarray  # (kH, kW) kernel slice for this channel
    products: np.ndarray  # (kH, kW) window * weights
    sum: float


@dataclass(frozen=True)
class CellTrace:
    """The arithmetic behind output[out_channel, row, col]."""

    out_channel: int
    row: int
    col: int
    rows: np.ndarray  # (kH,) input row of each kernel row; outside 0..H-1 means padding
    cols: np.ndarray  # (kW,) input column of each kernel column
    is_padding: np.ndarray  # (kH, kW) True where the tap reads padding
    channels: tuple[ChannelTrace, ...]
    bias: float
    total: float

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the window in input coordinates, inclusive."""
        return int(self.rows[0]), int(self.cols[0]), int(self.rows[-1]), int(self.cols[-1])


def trace(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    *,
    out_channel: int = 0,
    row: int = 0,
    col: int = 0,
) -> CellTrace:
    """Explain conv2d(input, weight, bias, ...)[out_channel, row, col] for a (C, H, W) input."""
    if np.ndim(input) != 3:
        raise SettingError(f"trace takes one image of shape (C, H, W), not {np.shape(input)}.")
    xp, w, (ho, wo), _ = conv_prepare(
        input, weight, stride, padding, dilation, groups, padding_mode
    )
    xp, dtype = xp[0], w.dtype
    o, cg, kh, kw = w.shape
    _, h, wid = np.shape(input)
    if not (0 <= out_channel < o and 0 <= row < ho and 0 <= col < wo):
        raise SettingError(
            f"cell ({out_channel}, {row}, {col}) is outside the output of shape ({o}, {ho}, {wo})."
        )
    (pt, _), (pl, _) = resolve_conv_padding(padding, (kh, kw), stride, dilation)
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    prow = row * sh + dh * np.arange(kh)
    pcol = col * sw + dw * np.arange(kw)
    rows, cols = prow - pt, pcol - pl
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < wid))[None, :]
    g = out_channel // (o // groups)
    channels = []
    for ci in range(cg):
        window = xp[g * cg + ci][np.ix_(prow, pcol)]
        weights = w[out_channel, ci]
        products = weights * window
        channels.append(
            ChannelTrace(
                g * cg + ci, window, weights.copy(), products, sum_from_zero(products, dtype)
            )
        )
    total = channels[0].sum
    for ch in channels[1:]:
        total = dtype.type(total + ch.sum)
    b = dtype.type(0) if bias is None else dtype.type(np.asarray(bias).reshape(-1)[out_channel])
    if bias is not None:
        total = dtype.type(total + b)
    return CellTrace(out_channel, row, col, rows, cols, ~inside, tuple(channels), b, total)
