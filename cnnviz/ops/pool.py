"""Max, average, adaptive and global pooling, torch's semantics."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.ops.arrays import as_batch, pad2d, tap_slices, unbatch
from cnnviz.shapes import SettingError, pair, pool_output_size


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
    taps = tap_slices((kh, kw), (dh, dw), (sh, sw), (ho, wo))
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
    x, squeeze = as_batch(input)
    h, w = x.shape[-2:]
    xp, taps, (ho, wo), _, (ph, pw) = pool_windows(
        x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf
    )
    if not return_indices:  # np.maximum propagates NaN, as torch does
        best = np.full(x.shape[:2] + (ho, wo), -np.inf, dtype=x.dtype)
        for _, _, r, c in taps:
            np.maximum(best, xp[..., r, c], out=best)
        return unbatch(best, squeeze)
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
    return unbatch(best, squeeze), unbatch(index, squeeze)


def whole_divisor(divisor_override) -> int:
    """`divisor_override` as the whole number >= 1 every average is divided by (2.0 counts as
    2); SettingError for anything else, e.g. 2.5, which torch refuses too."""
    if isinstance(divisor_override, bool) or not isinstance(
        divisor_override, (int, float, np.integer, np.floating)
    ):
        raise SettingError(
            f"divisor_override must be a positive whole number, not {divisor_override!r}."
        )
    if isinstance(divisor_override, (float, np.floating)) and not (
        math.isfinite(divisor_override) and divisor_override == int(divisor_override)
    ):
        raise SettingError(f"divisor_override must be a whole number, not {divisor_override}.")
    if not 1 <= divisor_override < 2**63:  # torch takes a 64-bit whole number
        raise SettingError(
            f"divisor_override must be at least 1 (and below 2^63), not {int(divisor_override)}."
        )
    return int(divisor_override)


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
    x, squeeze = as_batch(input)
    h, w = x.shape[-2:]
    xp, taps, (ho, wo), (sh, sw), (ph, pw) = pool_windows(
        x, kernel_size, stride, padding, 1, ceil_mode, 0.0
    )
    kh, kw = pair(kernel_size, "kernel_size")
    total = np.zeros(x.shape[:2] + (ho, wo), dtype=x.dtype)
    for _, _, r, c in taps:
        total += xp[..., r, c]
    if divisor_override is not None:
        return unbatch(total / x.dtype.type(whole_divisor(divisor_override)), squeeze)

    divisor = avg_pool_divisors((h, w), (kh, kw), (sh, sw), (ph, pw), (ho, wo), count_include_pad)
    return unbatch(total / divisor.astype(x.dtype), squeeze)


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
    x, squeeze = as_batch(input)
    h, w = x.shape[-2:]
    oh, ow = pair(output_size, "output_size")
    out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i in range(oh):
        r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
        for j in range(ow):
            c0, c1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return unbatch(out, squeeze)


def global_avg_pool2d(input: np.ndarray) -> np.ndarray:
    """One number per channel, the mean of its map: (C, H, W) -> (C, 1, 1)."""
    return adaptive_avg_pool2d(input, 1)
