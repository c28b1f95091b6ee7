"""Convolution and transposed convolution, torch's semantics.

Summation order is fixed and documented, so `cnnviz.trace` can repeat it number for number:
for each output channel, each input channel's partial map is the sum over kernel offsets in
row-major order; the output is partial map 0 + partial map 1 + ... and then the bias.
"""

from __future__ import annotations

import numpy as np

from cnnviz.ops.arrays import PaddingMode, as_batch, pad2d, unbatch, weight_4d, window_slice
from cnnviz.shapes import (
    SettingError,
    conv_output_size,
    conv_transpose_output_size,
    pair,
    resolve_conv_padding,
)


def conv_prepare(input, weight, stride, padding, dilation, groups, padding_mode):
    """Validate like torch; return the padded (N, C, H, W) input and the weight in one float
    dtype, the output (H, W), and whether the input had no batch axis."""
    x, squeeze = as_batch(input)
    w = weight_4d(weight, "(out_channels, in_channels/groups, kH, kW)")
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
    return unbatch(out, squeeze)


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
    return unbatch(out, squeeze)


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
    x, squeeze = as_batch(input)
    w = weight_4d(weight, "(in_channels, out_channels/groups, kH, kW)")
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
            rows = window_slice(i * dh, sh, h)
            for j in range(kw):
                cols = window_slice(j * dw, sw, wid)
                full[:, outs, rows, cols] += w[ci, :, i, j][None, :, None, None] * plane
    out = full[:, :, ph : ph + ho, pw : pw + wo]
    if bias is not None:
        out = out + np.asarray(bias, dtype=dtype).reshape(1, -1, 1, 1)
    return unbatch(np.ascontiguousarray(out), squeeze)
