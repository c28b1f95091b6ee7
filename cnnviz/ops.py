"""Convolution, pooling and activations in plain numpy, with PyTorch's semantics and argument names.

Every function takes `(C, H, W)` or `(N, C, H, W)` and returns the same rank. The code favours
what a reader can follow: a convolution is a loop over kernel offsets that adds shifted, strided
slices of the padded input. Tests compare every function with `torch.nn.functional`.

Summation order is fixed and documented, so `cnnviz.trace` can repeat it number for number:
for each output channel, each input channel's partial map is the sum over kernel offsets in
row-major order; the output is partial map 0 + partial map 1 + ... and then the bias.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cnnviz.shapes import (
    SettingError,
    check_padding_mode,
    conv_output_size,
    conv_transpose_output_size,
    pair,
    pool_output_size,
    resolve_conv_padding,
)

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _as_batch(x: np.ndarray, name: str = "input") -> tuple[np.ndarray, bool]:
    """Return a float (N, C, H, W) view of x and whether x had no batch axis."""
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise SettingError(
            f"{name} must have shape (C, H, W) or (N, C, H, W); this one has {x.ndim} axes "
            f"{tuple(x.shape)}."
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return (x[None], True) if x.ndim == 3 else (x, False)


def _weight(weight: np.ndarray, layout: str) -> np.ndarray:
    w = np.asarray(weight)
    if w.ndim != 4:
        raise SettingError(f"weight must have shape {layout}; this one has shape {tuple(w.shape)}.")
    return w


def _unbatch(y: np.ndarray, squeeze: bool) -> np.ndarray:
    return y[0] if squeeze else y


def pad2d(
    x: np.ndarray,
    pad: tuple[int, int, int, int],
    mode: PaddingMode = "zeros",
    value: float = 0.0,
) -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right) the way torch's padding modes do."""
    top, bottom, left, right = pad
    h, w = x.shape[-2:]
    for axis, n, pads in (("height", h, (top, bottom)), ("width", w, (left, right))):
        check_padding_mode(axis, n, pads, mode)
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NP_PAD_MODE[mode])


def _window_slice(offset: int, step: int, count: int) -> slice:
    """The strided slice that puts kernel tap `offset` of every window side by side."""
    return slice(offset, offset + (count - 1) * step + 1, step)


def conv_prepare(input, weight, stride, padding, dilation, groups, padding_mode):
    """Validate like torch; return the padded (N, C, H, W) input and the weight in one float
    dtype, the output (H, W), and whether the input had no batch axis."""
    x, squeeze = _as_batch(input)
    w = _weight(weight, "(out_channels, in_channels/groups, kH, kW)")
    n, c, h, wid = x.shape
    o, cg, kh, kw = w.shape
    if not isinstance(groups, int) or groups < 1 or c % groups or o % groups:
        raise SettingError(
            f"groups={groups} must divide both the {c} input channels and the {o} output channels."
        )
    if cg * groups != c:
        raise SettingError(
            f"the weight expects {cg * groups} input channels ({cg} per group x {groups} groups) "
            f"but the input has {c}."
        )
    dtype = np.result_type(x.dtype, w.dtype, np.float32)
    (pt, pb), (pl, pr) = resolve_conv_padding(padding, (kh, kw), stride, dilation)
    size = conv_output_size((h, wid), (kh, kw), stride, padding, dilation, padding_mode).size
    xp = pad2d(x.astype(dtype, copy=False), (pt, pb, pl, pr), padding_mode)
    return xp, w.astype(dtype, copy=False), size, squeeze


_BAND = 65_536  # output cells per row band: a band's buffers stay in the CPU cache


def _bands(n: int, ho: int, wo: int) -> list[slice]:
    """Row bands of the output, each about _BAND cells over the batch."""
    rows = max(1, _BAND // max(1, n * wo))
    return [slice(r, min(r + rows, ho)) for r in range(0, ho, rows)]


def _partial_maps(xp, w, stride, dilation, groups, size):
    """Yield (o, ci, fill): fill(buf, tmp, band) writes rows `band` of channel ci's partial map
    for filter o: the sum over kernel taps, in row-major order, of weight * shifted input."""
    o, cg, kh, kw = w.shape
    og = o // groups
    dh, dw = pair(dilation, "dilation")
    sh, sw = pair(stride, "stride")
    ho, wo = size

    def tap_view(ch: int):
        """Tap (r, c) of every window side by side. With stride s, tap offset r reads rows
        r, r+s, r+2s...: phase r % s (every s-th row, copied once into contiguous memory, which
        numpy's loops read faster) from row r // s on."""
        plane = xp[:, ch]
        if (sh, sw) == (1, 1):
            return lambda r, c: plane[..., r : r + ho, c : c + wo]
        phases: dict[tuple[int, int], np.ndarray] = {}

        def view(r: int, c: int) -> np.ndarray:
            key = (r % sh, c % sw)
            if key not in phases:
                phases[key] = np.ascontiguousarray(plane[..., key[0] :: sh, key[1] :: sw])
            return phases[key][..., r // sh : r // sh + ho, c // sw : c // sw + wo]

        return view

    taps = [tap_view(ch) for ch in range(xp.shape[1])]

    def filler(oc: int, ci: int):
        view = taps[(oc // og) * cg + ci]
        k = w[oc, ci]

        def fill(buf: np.ndarray, tmp: np.ndarray, band: slice) -> np.ndarray:
            np.multiply(view(0, 0)[..., band, :], k[0, 0], out=buf)
            for i in range(kh):
                for j in range(kw):
                    if i or j:
                        np.multiply(view(i * dh, j * dw)[..., band, :], k[i, j], out=tmp)
                        np.add(buf, tmp, out=buf)
            return buf

        return fill

    return [(oc, ci, filler(oc, ci)) for oc in range(o) for ci in range(cg)]


def conv2d_partials(
    input: np.ndarray,
    weight: np.ndarray,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> np.ndarray:
    """Each input channel's contribution to each output map, before they are summed.

    Returns (N, O, C/groups, H_out, W_out) (or without N): the maps a teacher shows as "the
    kernel's red slice on the red channel", whose sum plus bias is `conv2d`'s output.
    """
    xp, w, (ho, wo), squeeze = conv_prepare(
        input, weight, stride, padding, dilation, groups, padding_mode
    )
    n = xp.shape[0]
    out = np.empty((n, w.shape[0], w.shape[1], ho, wo), dtype=w.dtype)
    maps = _partial_maps(xp, w, stride, dilation, groups, (ho, wo))
    for band in _bands(n, ho, wo):
        tmp = np.empty((n, band.stop - band.start, wo), dtype=w.dtype)
        for oc, ci, fill in maps:
            fill(out[:, oc, ci, band], tmp, band)
    return _unbatch(out, squeeze)


def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
) -> np.ndarray:
    """2-D cross-correlation, as `torch.nn.functional.conv2d` (and `nn.Conv2d`'s padding_mode).

    Same numbers as `sum_partials(conv2d_partials(...), bias)`, without keeping every partial
    map; the work goes in row bands so each band's buffers stay in the CPU cache.
    """
    xp, w, (ho, wo), squeeze = conv_prepare(
        input, weight, stride, padding, dilation, groups, padding_mode
    )
    n = xp.shape[0]
    out = np.empty((n, w.shape[0], ho, wo), dtype=w.dtype)
    maps = _partial_maps(xp, w, stride, dilation, groups, (ho, wo))
    for band in _bands(n, ho, wo):
        shape = (n, band.stop - band.start, wo)
        part, tmp = np.empty(shape, dtype=w.dtype), np.empty(shape, dtype=w.dtype)
        for oc, ci, fill in maps:
            if ci == 0:
                fill(out[:, oc, band], tmp, band)
            else:
                out[:, oc, band] += fill(part, tmp, band)
    _add_bias(out, bias)
    return _unbatch(out, squeeze)


def _add_bias(out: np.ndarray, bias: np.ndarray | None) -> None:
    if bias is not None:
        b = np.asarray(bias, dtype=out.dtype).reshape(-1)
        if b.shape[0] != out.shape[1]:
            raise SettingError(
                f"bias has {b.shape[0]} values but there are {out.shape[1]} filters."
            )
        out += b[None, :, None, None]


def sum_partials(parts: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Add per-channel partial maps in channel order, then the bias: one output map per filter."""
    batched = parts.ndim == 5
    p = parts if batched else parts[None]
    out = p[:, :, 0].copy()
    for ci in range(1, p.shape[2]):
        out += p[:, :, ci]
    _add_bias(out, bias)
    return out if batched else out[0]


def conv_transpose2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Transposed convolution, as `torch.nn.functional.conv_transpose2d`.

    Scatter view: every input cell stamps the kernel, scaled by its value, onto the output at
    `stride` spacing; overlapping stamps add up; `padding` crops the border afterwards and
    `output_padding` adds rows/columns at the bottom/right.
    """
    x, squeeze = _as_batch(input)
    w = _weight(weight, "(in_channels, out_channels/groups, kH, kW)")
    n, c, h, wid = x.shape
    cin, og, kh, kw = w.shape
    if groups < 1 or c % groups:
        raise SettingError(f"groups={groups} must divide the {c} input channels.")
    if cin != c:
        raise SettingError(
            f"the weight expects {cin} input channels but the input has {c}: a transposed "
            f"convolution's weight is (in_channels, out_channels/groups, kH, kW)."
        )
    dtype = np.result_type(x.dtype, w.dtype, np.float32)
    x = x.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    ph, pw = pair(padding, "padding", minimum=0)
    oph, opw = pair(output_padding, "output_padding", minimum=0)
    ho, wo = conv_transpose_output_size(
        (h, wid), (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oph, opw)
    ).size
    cg = c // groups
    full = np.zeros((n, og * groups, ho + 2 * ph, wo + 2 * pw), dtype=dtype)
    for ci in range(c):
        outs = slice((ci // cg) * og, (ci // cg + 1) * og)
        plane = x[:, ci][:, None]
        for i in range(kh):
            rows = _window_slice(i * dh, sh, h)
            for j in range(kw):
                cols = _window_slice(j * dw, sw, wid)
                full[:, outs, rows, cols] += w[ci, :, i, j][None, :, None, None] * plane
    out = full[:, :, ph : ph + ho, pw : pw + wo]
    if bias is not None:
        out = out + np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1)
    return _unbatch(np.ascontiguousarray(out), squeeze)


def pool_windows(
    x: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None,
    padding: int | tuple[int, int],
    dilation: int | tuple[int, int],
    ceil_mode: bool,
    fill: float,
):
    """Pad for pooling (including ceil_mode's overhang) and yield the strided slice per tap."""
    h, w = x.shape[-2:]
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    dh, dw = pair(dilation, "dilation")
    ho, wo = pool_output_size((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode).size
    extra_h = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    xp = pad2d(x, (ph, ph + extra_h, pw, pw + extra_w), "zeros", value=fill)
    taps = [
        (i, j, _window_slice(i * dh, sh, ho), _window_slice(j * dw, sw, wo))
        for i in range(kh)
        for j in range(kw)
    ]
    return xp, taps, (ho, wo), (sh, sw), (ph, pw)


def max_pool2d(
    input: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Max pooling, as `torch.nn.functional.max_pool2d`.

    With `return_indices=True` also returns, per output cell, the flat index `row * W + col` of
    the input cell that won (the first one in row-major order on ties; NaN wins, as in torch),
    and -1 for a window that sees only padding (possible with dilation), whose max is -inf.
    """
    x, squeeze = _as_batch(input)
    h, w = x.shape[-2:]
    xp, taps, (ho, wo), _, (ph, pw) = pool_windows(
        x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf
    )
    if not return_indices:  # np.maximum propagates NaN, as torch does
        best = np.full(x.shape[:2] + (ho, wo), -np.inf, dtype=x.dtype)
        for _, _, r, c in taps:
            np.maximum(best, xp[..., r, c], out=best)
        return _unbatch(best, squeeze)
    rows = np.arange(xp.shape[-2]) - ph
    cols = np.arange(xp.shape[-1]) - pw
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    flat = np.where(inside, rows[:, None] * w + cols[None, :], -1)
    best = np.full(x.shape[:2] + (ho, wo), -np.inf, dtype=x.dtype)
    index = np.full(best.shape, -1, dtype=np.int64)
    for _, _, r, c in taps:
        values = xp[..., r, c]
        wins = (values > best) | np.isnan(values)
        best = np.where(wins, values, best)
        index = np.where(wins, flat[r, c], index)
    return _unbatch(best, squeeze), _unbatch(index, squeeze)


def avg_pool2d(
    input: np.ndarray,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Average pooling, as `torch.nn.functional.avg_pool2d`.

    The divisor counts padding cells when `count_include_pad` (never the ceil_mode overhang past
    the padding), otherwise only real input cells.
    """
    x, squeeze = _as_batch(input)
    h, w = x.shape[-2:]
    xp, taps, (ho, wo), (sh, sw), (ph, pw) = pool_windows(
        x, kernel_size, stride, padding, 1, ceil_mode, 0.0
    )
    kh, kw = pair(kernel_size, "kernel_size")
    total = np.zeros(x.shape[:2] + (ho, wo), dtype=x.dtype)
    for _, _, r, c in taps:
        total += xp[..., r, c]
    if divisor_override is not None:
        if int(divisor_override) < 1:
            raise SettingError("divisor_override must be a positive whole number.")
        return _unbatch(total / x.dtype.type(divisor_override), squeeze)

    divisor = avg_pool_divisors((h, w), (kh, kw), (sh, sw), (ph, pw), (ho, wo), count_include_pad)
    return _unbatch(total / divisor.astype(x.dtype), squeeze)


def avg_pool_divisors(size, kernel, stride, padding, out, count_include_pad: bool) -> np.ndarray:
    """(Ho, Wo): what avg_pool2d divides each window's sum by. Padding cells count when
    `count_include_pad` (never the ceil_mode overhang past the padding), else only real cells."""

    def counts(n: int, k: int, s: int, p: int, o: int) -> np.ndarray:
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            return end - start
        return np.minimum(end, n) - np.maximum(start, 0)

    rows = counts(size[0], kernel[0], stride[0], padding[0], out[0])
    cols = counts(size[1], kernel[1], stride[1], padding[1], out[1])
    return rows[:, None] * cols[None, :]


def adaptive_avg_pool2d(input: np.ndarray, output_size: int | tuple[int, int]) -> np.ndarray:
    """Adaptive average pooling, as `torch.nn.functional.adaptive_avg_pool2d`."""
    x, squeeze = _as_batch(input)
    h, w = x.shape[-2:]
    oh, ow = pair(output_size, "output_size")
    out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i in range(oh):
        r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
        for j in range(ow):
            c0, c1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return _unbatch(out, squeeze)


def global_avg_pool2d(input: np.ndarray) -> np.ndarray:
    """One number per channel, the mean of its map: (C, H, W) -> (C, 1, 1)."""
    return adaptive_avg_pool2d(input, 1)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x): negatives become 0, positives pass unchanged (no upper limit)."""
    return np.maximum(x, 0)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """x for x >= 0, negative_slope * x below: negatives shrink instead of vanishing."""
    x = np.asarray(x)
    return np.where(x >= 0, x, x * x.dtype.type(negative_slope))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), computed without overflow for large |x|."""
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent: squashes to (-1, 1), centred on 0."""
    return np.tanh(x)


def gelu(x: np.ndarray, approximate: Literal["none", "tanh"] = "none") -> np.ndarray:
    """x * Phi(x), Phi the standard normal CDF (exact erf, or torch's tanh approximation)."""
    x = np.asarray(x)
    if approximate == "tanh":
        inner = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
        return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
    from scipy.special import erf

    return (0.5 * x * (1 + erf(x / np.sqrt(2)))).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^x / sum e^x along `axis`, shifted by the max so huge logits do not overflow."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)), computed as x - max - log(sum e^(x - max)) for stability."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


ACTIVATIONS = {
    "none": lambda x: np.asarray(x),
    "relu": relu,
    "leaky_relu": leaky_relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "gelu": gelu,
}
