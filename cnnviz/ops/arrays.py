"""The plumbing every op shares: the (N, C, H, W) view of an input, torch's padding modes, and
the strided slices that put one kernel tap of every window side by side."""

from __future__ import annotations

from typing import Literal

import numpy as np

from cnnviz.shapes import SettingError, check_padding_mode

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def as_batch(x: np.ndarray, name: str = "input") -> tuple[np.ndarray, bool]:
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


def weight_4d(weight: np.ndarray, layout: str) -> np.ndarray:
    w = np.asarray(weight)
    if w.ndim != 4:
        raise SettingError(f"weight must have shape {layout}; this one has shape {tuple(w.shape)}.")
    return w


def unbatch(y: np.ndarray, squeeze: bool) -> np.ndarray:
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


def window_slice(offset: int, step: int, count: int) -> slice:
    """The strided slice that puts kernel tap `offset` of every window side by side."""
    return slice(offset, offset + (count - 1) * step + 1, step)


def tap_slices(kernel, dilation, stride, out) -> list[tuple[int, int, slice, slice]]:
    """(i, j, rows, cols) per kernel tap in row-major order: the strided slice of the padded
    input that tap (i, j) reads for every output cell."""
    (kh, kw), (dh, dw), (sh, sw), (ho, wo) = kernel, dilation, stride, out
    return [
        (i, j, window_slice(i * dh, sh, ho), window_slice(j * dw, sw, wo))
        for i in range(kh)
        for j in range(kw)
    ]


def sum_from_zero(values, dtype=np.float32) -> np.floating:
    """Left to right from 0, rounding to `dtype` after every addition: the order a map that
    starts from zeros adds in, which every written-out sum repeats to the last digit."""
    dtype = np.dtype(dtype)
    total = dtype.type(0)
    for v in np.asarray(values).ravel():  # each value as it is; the sum rounded to dtype
        total = dtype.type(total + v)
    return total
