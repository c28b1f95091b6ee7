"""The arithmetic behind one gradient number: every product (or share) the backward pass adds
for it, in the order the map adds them, so a traced cell equals the map bit for bit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.backward.grad_output import grad_batch
from cnnviz.backward.pool import avg_setup
from cnnviz.ops.arrays import as_batch, sum_from_zero
from cnnviz.ops.conv import conv_prepare
from cnnviz.ops.pool import max_pool2d
from cnnviz.shapes import SettingError, pair, resolve_conv_padding


@dataclass(frozen=True)
class GradTerm:
    """One product (or share) in a gradient sum: `factor` x `grad` = `value`.

    `cell` is the output cell (row, col) whose dL/dy it uses; `tap` the kernel (or window)
    position (i, j); `pixel` the input (row, col) involved, outside 0..H-1 for padding.
    """

    out_channel: int
    cell: tuple[int, int]
    tap: tuple[int, int]
    pixel: tuple[int, int]
    factor: float  # the input pixel (dL/dW), the weight (dL/dx), 1 (dL/db), 1/divisor (avg)
    grad: float  # dL/dy of `cell`
    value: float  # what is added
    is_padding: bool = False


@dataclass(frozen=True)
class GradTrace:
    """The arithmetic behind one gradient number: `total` is the sum of the terms' values, in
    the order the map adds them (so it equals the map's number exactly)."""

    kind: str  # "weight", "bias", "input", "max_pool", "avg_pool"
    index: tuple[int, ...]
    terms: tuple[GradTerm, ...]
    total: float


def _seq(values: list, dtype) -> np.floating:
    """Left to right from the first value, in `dtype` (np.add.accumulate's order)."""
    if not values:
        return dtype.type(0)
    acc = dtype.type(values[0])
    for v in values[1:]:
        acc = dtype.type(acc + v)
    return acc


def _check_pixel(pixel: tuple[int, int, int], shape: tuple[int, int, int]) -> None:
    if not all(0 <= p < n for p, n in zip(pixel, shape)):
        raise SettingError(f"pixel {pixel} is outside the input {shape}.")


def _one_image(input, what: str) -> None:
    if np.ndim(input) != 3:
        raise SettingError(f"{what} traces one image of shape (C, H, W), not {np.shape(input)}.")


def _conv_setup(input, weight, grad_output, stride, padding, dilation, groups):
    _one_image(input, "A gradient trace")
    xp, w, (ho, wo), _ = conv_prepare(input, weight, stride, padding, dilation, groups, "zeros")
    dtype = np.result_type(w.dtype, np.asarray(grad_output).dtype)
    gy = grad_batch(grad_output, (1, w.shape[0], ho, wo), True, dtype)[0]
    (pt, _), (pl, _) = resolve_conv_padding(padding, w.shape[-2:], stride, dilation)
    return xp[0].astype(dtype), w.astype(dtype), gy, (ho, wo), (pt, pl), dtype


def trace_grad_weight(
    input: np.ndarray,
    weight: np.ndarray,
    grad_output: np.ndarray,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    *,
    out_channel: int = 0,
    in_channel: int = 0,
    row: int = 0,
    col: int = 0,
) -> GradTrace:
    """Explain grad_weight[out_channel, in_channel, row, col] of `conv2d_backward`: over the
    output cells in reading order, the input pixel this weight touched x that cell's dL/dy."""
    xp, w, gy, (ho, wo), (pt, pl), dtype = _conv_setup(
        input, weight, grad_output, stride, padding, dilation, groups
    )
    o, cg, kh, kw = w.shape
    if not (0 <= out_channel < o and 0 <= in_channel < cg and 0 <= row < kh and 0 <= col < kw):
        raise SettingError(
            f"weight {(out_channel, in_channel, row, col)} is outside the "
            f"weight of shape {(o, cg, kh, kw)}."
        )
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    ch = (out_channel // (o // groups)) * cg + in_channel
    h, wid = np.shape(input)[-2:]
    terms = []
    for r in range(ho):
        for c in range(wo):
            pr, pc = r * sh + row * dh, c * sw + col * dw
            x, g = xp[ch, pr, pc], gy[out_channel, r, c]
            inside = 0 <= pr - pt < h and 0 <= pc - pl < wid
            terms.append(
                GradTerm(
                    out_channel,
                    (r, c),
                    (row, col),
                    (pr - pt, pc - pl),
                    x,
                    g,
                    dtype.type(g * x),
                    not inside,
                )
            )
    total = _seq([t.value for t in terms], dtype)
    return GradTrace("weight", (out_channel, in_channel, row, col), tuple(terms), total)


def trace_grad_bias(grad_output: np.ndarray, out_channel: int = 0) -> GradTrace:
    """Explain grad_bias[out_channel]: the sum of that channel's dL/dy in reading order."""
    gy = np.asarray(grad_output)
    if gy.ndim != 3 or not 0 <= out_channel < gy.shape[0]:
        raise SettingError(f"channel {out_channel} is outside dL/dy of shape {gy.shape}.")
    dtype = np.result_type(gy.dtype, np.float32)
    g = gy[out_channel].astype(dtype)
    terms = [
        GradTerm(out_channel, (r, c), (0, 0), (-1, -1), 1.0, g[r, c], g[r, c])
        for r in range(g.shape[0])
        for c in range(g.shape[1])
    ]
    return GradTrace("bias", (out_channel,), tuple(terms), _seq([t.value for t in terms], dtype))


def trace_grad_input(
    input: np.ndarray,
    weight: np.ndarray,
    grad_output: np.ndarray,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    *,
    channel: int = 0,
    row: int = 0,
    col: int = 0,
) -> GradTrace:
    """Explain grad_input[channel, row, col] of `conv2d_backward`: every (filter, kernel tap)
    whose window put that weight on this pixel, the weight x that cell's dL/dy."""
    xp, w, gy, (ho, wo), (pt, pl), dtype = _conv_setup(
        input, weight, grad_output, stride, padding, dilation, groups
    )
    c, h, wid = np.shape(input)
    o, cg, kh, kw = w.shape
    _check_pixel((channel, row, col), (c, h, wid))
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    og, g, ci = o // groups, channel // cg, channel % cg
    terms = []
    for oc in range(g * og, (g + 1) * og):
        for i in range(kh):
            for j in range(kw):
                dr, dc = row + pt - i * dh, col + pl - j * dw
                if dr % sh or dc % sw:
                    continue
                r, cc = dr // sh, dc // sw
                if 0 <= r < ho and 0 <= cc < wo:
                    wt, gr = w[oc, ci, i, j], gy[oc, r, cc]
                    terms.append(
                        GradTerm(oc, (r, cc), (i, j), (row, col), wt, gr, dtype.type(wt * gr))
                    )
    total = sum_from_zero([t.value for t in terms], dtype)
    return GradTrace("input", (channel, row, col), tuple(terms), total)


def trace_max_pool_grad(
    input: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    *,
    channel: int = 0,
    row: int = 0,
    col: int = 0,
) -> GradTrace:
    """Explain max_pool2d_backward's [channel, row, col]: the dL/dy of every window this
    pixel won, in reading order."""
    _one_image(input, "A pooling gradient trace")
    x = as_batch(input)[0][0]
    out, index = max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    dtype = np.result_type(out.dtype, np.asarray(grad_output).dtype)
    gy = grad_batch(grad_output, (1,) + out.shape, True, dtype)[0]
    c, h, w = x.shape
    _check_pixel((channel, row, col), (c, h, w))
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    dh, dw = pair(dilation, "dilation")
    terms = []
    for r, cc in zip(*np.nonzero(index[channel] == row * w + col)):
        i, j = (row + ph - r * sh) // dh, (col + pw - cc * sw) // dw
        terms.append(
            GradTerm(
                channel,
                (int(r), int(cc)),
                (int(i), int(j)),
                (row, col),
                1.0,
                gy[channel, r, cc],
                gy[channel, r, cc],
            )
        )
    total = sum_from_zero([t.value for t in terms], dtype)
    return GradTrace("max_pool", (channel, row, col), tuple(terms), total)


def trace_avg_pool_grad(
    input: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    *,
    channel: int = 0,
    row: int = 0,
    col: int = 0,
) -> GradTrace:
    """Explain avg_pool2d_backward's [channel, row, col]: the share dL/dy / divisor of every
    window that covered this pixel, kernel taps in reading order."""
    _one_image(input, "A pooling gradient trace")
    x = as_batch(input)[0][0]
    (kh, kw), (sh, sw), (ph, pw), (ho, wo), divisor = avg_setup(
        x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    dtype = np.result_type(x.dtype, np.asarray(grad_output).dtype)
    gy = grad_batch(grad_output, (1, x.shape[0], ho, wo), True, dtype)[0]
    c, h, w = x.shape
    _check_pixel((channel, row, col), (c, h, w))
    terms = []
    for i in range(kh):
        for j in range(kw):
            dr, dc = row + ph - i, col + pw - j
            if dr % sh or dc % sw:
                continue
            r, cc = dr // sh, dc // sw
            if 0 <= r < ho and 0 <= cc < wo:
                d = dtype.type(divisor[r, cc])
                g = gy[channel, r, cc]
                terms.append(
                    GradTerm(
                        channel,
                        (r, cc),
                        (i, j),
                        (row, col),
                        int(divisor[r, cc]),
                        g,
                        dtype.type(g / d),
                    )
                )
    total = sum_from_zero([t.value for t in terms], dtype)
    return GradTrace("avg_pool", (channel, row, col), tuple(terms), total)
