"""Gradients of a convolution: dL/dW, dL/db and dL/dx, torch's semantics.

- dL/dW: a weight touched one input pixel per output cell, so its gradient is the sum over
  output cells of (that pixel x dL/dy): the input cross-correlated with dL/dy.
- dL/db: the bias was added to every output cell: the sum of dL/dy.
- dL/dx: an input pixel was touched by some kernel weights (one per output cell whose window
  covered it): the sum of those weights x dL/dy, the "full" convolution of dL/dy with the
  flipped kernel (what a transposed convolution computes).

Summation order (repeated by `cnnviz.backward.traces`): dL/dW and dL/db over output cells in
row-major order (batch by batch), left to right (`np.add.accumulate`); dL/dx starting from 0,
for each filter in order, kernel taps in row-major order.
"""

from __future__ import annotations

import numpy as np

from cnnviz.backward.grad_output import grad_batch
from cnnviz.ops.arrays import tap_slices, unbatch
from cnnviz.ops.conv import conv_prepare
from cnnviz.shapes import pair, resolve_conv_padding


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
    gy = grad_batch(grad_output, (n, o, ho, wo), squeeze, dtype)
    og = o // groups
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    grad_w = np.empty_like(w)
    grad_xp = np.zeros_like(xp)
    for i, j, rows, cols in tap_slices((kh, kw), (dh, dw), (sh, sw), (ho, wo)):
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
            for i, j, rows, cols in tap_slices((kh, kw), (dh, dw), (sh, sw), (ho, wo)):
                grad_xp[:, ch, rows, cols] += w[oc, ci, i, j] * gy[:, oc]
    grad_b = _ordered_sum(np.moveaxis(gy, 1, 0).reshape(o, -1))
    (pt, _), (pl, _) = resolve_conv_padding(padding, (kh, kw), stride, dilation)
    h, wid = np.shape(input)[-2:]
    grad_x = np.ascontiguousarray(grad_xp[:, :, pt : pt + h, pl : pl + wid])
    return unbatch(grad_x, squeeze), grad_w, grad_b
