"""Gradients of convolution and pooling in plain numpy, with PyTorch's semantics (no torch here).

Backpropagation through a layer answers three questions, given dL/dy (how the loss changes
with each output cell):

- dL/dW: a weight touched one input pixel per output cell, so its gradient is the sum over
  output cells of (that pixel x dL/dy): the input cross-correlated with dL/dy.
- dL/db: the bias was added to every output cell: the sum of dL/dy.
- dL/dx: an input pixel was touched by some kernel weights (one per output cell whose window
  covered it): the sum of those weights x dL/dy, the "full" convolution of dL/dy with the
  flipped kernel (what a transposed convolution computes).

Pooling has no weights: max pooling routes each cell's gradient to its window's winner; average
pooling spreads it evenly over the window (dL/dy / divisor to every cell).

Summation order is fixed, so `trace_*` can repeat it number for number (a traced cell equals
the map bit for bit):

- dL/dW and dL/db: over output cells in row-major order (batch by batch), left to right
  (`np.add.accumulate`, which adds strictly in order).
- dL/dx of a convolution: starting from 0, for each filter in order, kernel taps in row-major
  order; average pooling: kernel taps in row-major order; max pooling: output cells in
  row-major order (`np.add.at`, which adds in index order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.ops import _as_batch, _unbatch, avg_pool_divisors, conv_prepare, max_pool2d
from cnnviz.shapes import SettingError, pair, pool_output_size, resolve_conv_padding


def _grad_batch(grad_output, want: tuple[int, ...], squeeze: bool, dtype) -> np.ndarray:
    """dL/dy as (N, O, Ho, Wo) in `dtype`, checked against the forward output's shape."""
    g = np.asarray(grad_output)
    g = g[None] if squeeze and g.ndim == 3 else g
    if g.shape != want:
        shown = want[1:] if squeeze else want
        raise SettingError(
            f"grad_output must have the forward output's shape {shown}; this one has "
            f"{tuple(np.shape(grad_output))}."
        )
    return g.astype(dtype, copy=False)


def _taps(kh: int, kw: int, dh: int, dw: int, sh: int, sw: int, ho: int, wo: int):
    """(i, j, rows, cols): the strided slice of the padded input that tap (i, j) reads."""
    for i in range(kh):
        for j in range(kw):
            yield (
                i,
                j,
                slice(i * dh, i * dh + (ho - 1) * sh + 1, sh),
                slice(j * dw, j * dw + (wo - 1) * sw + 1, sw),
            )


def _ordered_sum(a: np.ndarray) -> np.ndarray:
    """Sum along the last axis strictly left to right (the order the traces repeat)."""
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1], dtype=a.dtype)
    return np.add.accumulate(a, axis=-1)[..., -1]


def conv2d_backward(
    input: np.ndarray,
    weight: np.ndarray,
    grad_output: np.ndarray,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of `conv2d(input, weight, bias, ...)` (zero padding) given dL/dy.

    Returns (grad_input, grad_weight, grad_bias), shaped like input, weight and (O,): what
    torch autograd puts in x.grad, conv.weight.grad and conv.bias.grad.
    """
    xp, w, (ho, wo), squeeze = conv_prepare(
        input, weight, stride, padding, dilation, groups, "zeros"
    )
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    dtype = np.result_type(w.dtype, np.asarray(grad_output).dtype)
    xp, w = xp.astype(dtype, copy=False), w.astype(dtype, copy=False)
    gy = _grad_batch(grad_output, (n, o, ho, wo), squeeze, dtype)
    og = o // groups
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    grad_w = np.empty_like(w)
    grad_xp = np.zeros_like(xp)
    for i, j, rows, cols in _taps(kh, kw, dh, dw, sh, sw, ho, wo):
        seen = xp[:, :, rows, cols]  # (N, C, Ho, Wo): the pixel tap (i, j) read per cell
        for g in range(groups):
            outs, ins = slice(g * og, (g + 1) * og), slice(g * cg, (g + 1) * cg)
            prod = gy[:, outs, None] * seen[:, None, ins]  # (N, og, cg, Ho, Wo)
            prod = np.moveaxis(prod, 0, 2).reshape(og, cg, -1)  # batch, then cells in order
            grad_w[outs, :, i, j] = _ordered_sum(prod)
    for oc in range(o):
        g = oc // og
        for ci in range(cg):
            ch = g * cg + ci
            for i, j, rows, cols in _taps(kh, kw, dh, dw, sh, sw, ho, wo):
                grad_xp[:, ch, rows, cols] += w[oc, ci, i, j] * gy[:, oc]
    grad_b = _ordered_sum(np.moveaxis(gy, 1, 0).reshape(o, -1))
    (pt, _), (pl, _) = resolve_conv_padding(padding, (kh, kw), stride, dilation)
    h, wid = np.shape(input)[-2:]
    grad_x = np.ascontiguousarray(grad_xp[:, :, pt : pt + h, pl : pl + wid])
    return _unbatch(grad_x, squeeze), grad_w, grad_b


def max_pool2d_backward(
    input: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """dL/dx of `max_pool2d`: each output cell's gradient goes to its window's winner (the
    first maximum in reading order, as torch picks it); overlapping windows add up; a window
    that saw only padding passes nothing on."""
    x, squeeze = _as_batch(input)
    out, index = max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    dtype = np.result_type(x.dtype, np.asarray(grad_output).dtype)
    gy = _grad_batch(grad_output, out.shape, squeeze, dtype)
    n, c, h, w = x.shape
    grad = np.zeros((n * c, h * w), dtype=dtype)
    flat_index = index.reshape(n * c, -1)
    flat_grad = gy.reshape(n * c, -1)
    for plane in range(n * c):
        keep = flat_index[plane] >= 0
        np.add.at(grad[plane], flat_index[plane][keep], flat_grad[plane][keep])
    return _unbatch(grad.reshape(n, c, h, w), squeeze)


def _avg_setup(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Sizes and the divisor of every output cell of `avg_pool2d` (its own rules)."""
    h, w = x.shape[-2:]
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    ho, wo = pool_output_size((h, w), (kh, kw), (sh, sw), (ph, pw), (1, 1), ceil_mode).size
    if divisor_override is not None:
        if int(divisor_override) < 1:
            raise SettingError("divisor_override must be a positive whole number.")
        divisor = np.full((ho, wo), int(divisor_override))
    else:
        divisor = avg_pool_divisors(
            (h, w), (kh, kw), (sh, sw), (ph, pw), (ho, wo), count_include_pad
        )
    return (kh, kw), (sh, sw), (ph, pw), (ho, wo), divisor


def avg_pool2d_backward(
    input: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """dL/dx of `avg_pool2d`: each output cell's gradient divided by the forward pass's divisor
    goes to every input cell of its window (padding cells take their share and drop it)."""
    x, squeeze = _as_batch(input)
    (kh, kw), (sh, sw), (ph, pw), (ho, wo), divisor = _avg_setup(
        x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    dtype = np.result_type(x.dtype, np.asarray(grad_output).dtype)
    gy = _grad_batch(grad_output, x.shape[:2] + (ho, wo), squeeze, dtype)
    share = gy / divisor.astype(dtype)
    h, w = x.shape[-2:]
    big_h = max(h + 2 * ph, (ho - 1) * sh + kh)
    big_w = max(w + 2 * pw, (wo - 1) * sw + kw)
    grad = np.zeros(x.shape[:2] + (big_h, big_w), dtype=dtype)
    for _, _, rows, cols in _taps(kh, kw, 1, 1, sh, sw, ho, wo):
        grad[..., rows, cols] += share
    return _unbatch(np.ascontiguousarray(grad[..., ph : ph + h, pw : pw + w]), squeeze)


# ------------------------------------------------------------------------------ traces


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


def _one_image(input, what: str) -> None:
    if np.ndim(input) != 3:
        raise SettingError(f"{what} traces one image of shape (C, H, W), not {np.shape(input)}.")


def _conv_setup(input, weight, grad_output, stride, padding, dilation, groups):
    _one_image(input, "A gradient trace")
    xp, w, (ho, wo), _ = conv_prepare(input, weight, stride, padding, dilation, groups, "zeros")
    dtype = np.result_type(w.dtype, np.asarray(grad_output).dtype)
    gy = _grad_batch(grad_output, (1, w.shape[0], ho, wo), True, dtype)[0]
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
    if not (0 <= channel < c and 0 <= row < h and 0 <= col < wid):
        raise SettingError(f"pixel {(channel, row, col)} is outside the input {(c, h, wid)}.")
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
    total = dtype.type(0)  # the map starts from zeros
    for t in terms:
        total = dtype.type(total + t.value)
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
    x = _as_batch(input)[0][0]
    out, index = max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    dtype = np.result_type(out.dtype, np.asarray(grad_output).dtype)
    gy = _grad_batch(grad_output, (1,) + out.shape, True, dtype)[0]
    c, h, w = x.shape
    if not (0 <= channel < c and 0 <= row < h and 0 <= col < w):
        raise SettingError(f"pixel {(channel, row, col)} is outside the input {(c, h, w)}.")
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
    total = dtype.type(0)
    for t in terms:
        total = dtype.type(total + t.value)
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
    x = _as_batch(input)[0][0]
    (kh, kw), (sh, sw), (ph, pw), (ho, wo), divisor = _avg_setup(
        x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    dtype = np.result_type(x.dtype, np.asarray(grad_output).dtype)
    gy = _grad_batch(grad_output, (1, x.shape[0], ho, wo), True, dtype)[0]
    c, h, w = x.shape
    if not (0 <= channel < c and 0 <= row < h and 0 <= col < w):
        raise SettingError(f"pixel {(channel, row, col)} is outside the input {(c, h, w)}.")
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
    total = dtype.type(0)
    for t in terms:
        total = dtype.type(total + t.value)
    return GradTrace("avg_pool", (channel, row, col), tuple(terms), total)
