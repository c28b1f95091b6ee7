"""Gradients of pooling, which has no weights: max pooling routes each cell's gradient to its
window's winner; average pooling spreads it evenly over the window (dL/dy / divisor to every
cell).

Summation order (repeated by `cnnviz.backward.traces`): average pooling adds kernel taps in
row-major order; max pooling output cells in row-major order (`np.add.at`, in index order).
"""

from __future__ import annotations

import numpy as np

from cnnviz.backward.grad_output import grad_batch
from cnnviz.ops.arrays import as_batch, tap_slices, unbatch
from cnnviz.ops.pool import avg_pool_divisors, max_pool2d, whole_divisor
from cnnviz.shapes import pair, pool_output_size


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
    x, squeeze = as_batch(input)
    out, index = max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, True)
    dtype = np.result_type(x.dtype, np.asarray(grad_output).dtype)
    gy = grad_batch(grad_output, out.shape, squeeze, dtype)
    n, c, h, w = x.shape
    grad = np.zeros((n * c, h * w), dtype=dtype)
    flat_index = index.reshape(n * c, -1)
    flat_grad = gy.reshape(n * c, -1)
    for plane in range(n * c):
        keep = flat_index[plane] >= 0
        np.add.at(grad[plane], flat_index[plane][keep], flat_grad[plane][keep])
    return unbatch(grad.reshape(n, c, h, w), squeeze)


def avg_setup(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Sizes and the divisor of every output cell of `avg_pool2d` (its own rules)."""
    h, w = x.shape[-2:]
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    ho, wo = pool_output_size((h, w), (kh, kw), (sh, sw), (ph, pw), (1, 1), ceil_mode).size
    if divisor_override is not None:
        divisor = np.full((ho, wo), whole_divisor(divisor_override))
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
    x, squeeze = as_batch(input)
    (kh, kw), (sh, sw), (ph, pw), (ho, wo), divisor = avg_setup(
        x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    dtype = np.result_type(x.dtype, np.asarray(grad_output).dtype)
    gy = grad_batch(grad_output, x.shape[:2] + (ho, wo), squeeze, dtype)
    share = gy / divisor.astype(dtype)
    h, w = x.shape[-2:]
    big_h = max(h + 2 * ph, (ho - 1) * sh + kh)
    big_w = max(w + 2 * pw, (wo - 1) * sw + kw)
    grad = np.zeros(x.shape[:2] + (big_h, big_w), dtype=dtype)
    for _, _, rows, cols in tap_slices((kh, kw), (1, 1), (sh, sw), (ho, wo)):
        grad[..., rows, cols] += share
    return unbatch(np.ascontiguousarray(grad[..., ph : ph + h, pw : pw + w]), squeeze)
