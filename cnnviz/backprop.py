"""One training step of a tiny net, forward then backward, with every number and its sum.

The net: one convolution filter (C input channels -> 1 output map, a bias), optionally a max or
average pooling, and the loss L = sum over cells of (output - target)^2. Backward goes the other
way: dL/d(output) = 2 x (output - target), through the pooling (`max_pool2d_backward` /
`avg_pool2d_backward`), then `conv2d_backward` gives dL/dW, dL/db and dL/dx, and plain SGD
writes w - lr x dL/dW. Every number comes from the engine (`cnnviz.ops`, `cnnviz.backward`),
the tests compare each with torch autograd; the sentences here only write those numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.backward import (
    GradTrace,
    avg_pool2d_backward,
    conv2d_backward,
    max_pool2d_backward,
    trace_avg_pool_grad,
    trace_grad_bias,
    trace_grad_input,
    trace_grad_weight,
    trace_max_pool_grad,
)
from cnnviz.numbers import fmt as _fmt
from cnnviz.numbers import term as _term
from cnnviz.ops import avg_pool2d, conv2d, max_pool2d
from cnnviz.ops.arrays import sum_from_zero
from cnnviz.shapes import SettingError, pair, resolve_conv_padding

DIGITS = 6  # significant digits shown: enough to compare with torch's float32 by eye


def fmt(v: float) -> str:
    """A number as the page writes it: 3 not 3.0, up to 6 significant digits."""
    return _fmt(v, DIGITS)


def term(v: float) -> str:
    """A number inside a sum: negative ones in brackets."""
    return _term(v, DIGITS)


POOLS = ("none", "max", "avg")
# The page's example: small integers a student can follow by hand, and a step that lowers the loss.
DEFAULT_INPUT = (
    "1 2 0 1; 3 1 2 0; 0 1 3 2; 2 0 1 1",
    "0 1 1 0; 1 0 0 1; 1 0 0 1; 0 1 1 0",
    "2 0 0 2; 0 1 1 0; 0 1 1 0; 2 0 0 2",
)
DEFAULT_KERNEL = ("1 -1; 0 2", "0 1; 1 0", "1 0; 0 -1")
DEFAULT_TARGET = "4 0 2; 2 6 4; 0 2 4"
DEFAULT_LR = 0.01


def _f32(a, what: str) -> np.ndarray:
    out = np.asarray(a, dtype=np.float32)
    if not np.isfinite(out).all():
        raise SettingError(f"The {what} must hold ordinary numbers (no NaN or infinity).")
    return out


@dataclass(frozen=True)
class Lesson:
    """A forward and a backward pass of conv (-> pool) -> squared error, and one SGD step."""

    x: np.ndarray  # (C, H, W)
    weight: np.ndarray  # (1, C, kH, kW)
    bias: np.float32
    stride: tuple[int, int]
    padding: tuple[int, int] | str
    dilation: tuple[int, int]
    pool: str  # "none", "max", "avg"
    pool_size: int
    target: np.ndarray  # (1, Ho, Wo) of the last map
    lr: float
    y: np.ndarray  # (1, Ho, Wo) conv2d output
    z: np.ndarray  # (1, Hz, Wz) after pooling (y itself without pooling)
    loss: np.float32
    grad_z: np.ndarray  # dL/dz = 2 (z - target)
    grad_y: np.ndarray  # dL/dy, after the pooling's backward
    grad_x: np.ndarray  # dL/dx (C, H, W)
    grad_w: np.ndarray  # dL/dW (1, C, kH, kW)
    grad_b: np.float32
    new_weight: np.ndarray  # w - lr dL/dW
    new_bias: np.float32
    new_loss: np.float32  # the loss with the updated weight and bias, same input

    @property
    def conv_args(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)

    @property
    def pad_before(self) -> tuple[int, int]:
        """(top, left) padding of the convolution."""
        (pt, _), (pl, _) = resolve_conv_padding(
            self.padding, self.weight.shape[-2:], self.stride, self.dilation
        )
        return pt, pl

    def pool_args(self) -> dict:
        return dict(kernel_size=self.pool_size)


def _forward(x, w, b, stride, padding, dilation, pool, pool_size):
    y = conv2d(x, w, np.array([b], np.float32), stride, padding, dilation)
    if pool == "max":
        z = max_pool2d(y, pool_size)
    elif pool == "avg":
        z = avg_pool2d(y, pool_size)
    else:
        z = y
    return y, z


def squared_error(z: np.ndarray, target: np.ndarray) -> np.float32:
    """sum of (z - target)^2, in reading order (float32)."""
    return sum_from_zero(np.asarray((z - target) ** 2, np.float32), np.float32)


def lesson(
    x,
    weight,
    bias: float = 0.0,
    target=None,
    stride=1,
    padding=0,
    dilation=1,
    pool: str = "none",
    pool_size: int = 2,
    lr: float = 0.1,
) -> Lesson:
    """Forward, loss, backward and the SGD update for one filter on a (C, H, W) input.

    `weight` is (C, kH, kW) or (1, C, kH, kW); `target` has the last map's shape (zeros if
    None). Refuses (SettingError, a sentence) what cannot run.
    """
    x = _f32(x, "input")
    if x.ndim == 2:
        x = x[None]
    w = _f32(weight, "kernel")
    if w.ndim == 2:
        w = w[None]
    if w.ndim == 3:
        w = w[None]
    if w.ndim != 4 or w.shape[:2] != (1, x.shape[0]):
        raise SettingError(
            f"The filter needs one kernel slice per input channel ({x.shape[0]}); "
            f"it has shape {w.shape}."
        )
    if pool not in POOLS:
        raise SettingError(f"pooling is one of {', '.join(POOLS)}, not {pool!r}.")
    if not (np.isfinite(lr) and lr >= 0):
        raise SettingError("The learning rate must be a number of 0 or more.")
    b = np.float32(bias)
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if not isinstance(padding, str):
        padding = pair(padding, "padding", minimum=0)
    with np.errstate(over="ignore", invalid="ignore"):  # huge numbers: refused below
        return _lesson(x, w, b, target, stride, padding, dilation, pool, pool_size, lr)


def _lesson(x, w, b, target, stride, padding, dilation, pool, pool_size, lr) -> Lesson:
    y, z = _forward(x, w, b, stride, padding, dilation, pool, pool_size)
    t = np.zeros_like(z) if target is None else _f32(target, "target")
    if t.ndim == 2:
        t = t[None]
    if t.shape != z.shape:
        raise SettingError(
            f"The target needs the output's shape {z.shape[-2]}×{z.shape[-1]}; "
            f"it is {t.shape[-2]}×{t.shape[-1]}."
        )
    loss = squared_error(z, t)
    grad_z = np.float32(2) * (z - t)
    if pool == "max":
        grad_y = max_pool2d_backward(y, grad_z, pool_size)
    elif pool == "avg":
        grad_y = avg_pool2d_backward(y, grad_z, pool_size)
    else:
        grad_y = grad_z
    grad_x, grad_w, grad_b = conv2d_backward(x, w, grad_y, stride, padding, dilation)
    rate = np.float32(lr)
    new_w = w - rate * grad_w
    new_b = np.float32(b - rate * grad_b[0])
    _, z_new = _forward(x, new_w, new_b, stride, padding, dilation, pool, pool_size)
    if not (np.isfinite(z).all() and np.isfinite(grad_w).all() and np.isfinite(grad_x).all()):
        raise SettingError("The numbers grow too large for 32-bit floats: use smaller ones.")
    return Lesson(
        x,
        w,
        b,
        stride,
        padding,
        dilation,
        pool,
        int(pool_size),
        t,
        float(lr),
        y,
        z,
        loss,
        grad_z,
        grad_y,
        grad_x,
        grad_w,
        np.float32(grad_b[0]),
        new_w,
        new_b,
        squared_error(z_new, t),
    )


# --------------------------------------------------------------------- traces of a lesson


def weight_trace(ls: Lesson, channel: int, row: int, col: int) -> GradTrace:
    return trace_grad_weight(
        ls.x,
        ls.weight,
        ls.grad_y,
        **ls.conv_args,
        out_channel=0,
        in_channel=channel,
        row=row,
        col=col,
    )


def input_trace(ls: Lesson, channel: int, row: int, col: int) -> GradTrace:
    return trace_grad_input(
        ls.x, ls.weight, ls.grad_y, **ls.conv_args, channel=channel, row=row, col=col
    )


def bias_trace(ls: Lesson) -> GradTrace:
    return trace_grad_bias(ls.grad_y, 0)


def pool_trace(ls: Lesson, row: int, col: int) -> GradTrace:
    """How dL/dy[row, col] came back through the pooling."""
    if ls.pool == "max":
        return trace_max_pool_grad(ls.y, ls.grad_z, ls.pool_size, row=row, col=col)
    return trace_avg_pool_grad(ls.y, ls.grad_z, ls.pool_size, row=row, col=col)


# ---------------------------------------------------------------------------- the words


def _at(cell: tuple[int, int]) -> str:
    """A cell as a student reads it: 1-based (row, column)."""
    return f"[{cell[0] + 1},{cell[1] + 1}]"


def loss_equation(ls: Lesson) -> str:
    """L = (z - t)^2 + ... = value."""
    terms = " + ".join(f"({fmt(a)} − {term(b)})²" for a, b in zip(ls.z.ravel(), ls.target.ravel()))
    return f"L = {terms} = {fmt(ls.loss)}"


def grad_out_equation(ls: Lesson, row: int, col: int) -> str:
    """dL/dz at one cell: 2 × (z − target)."""
    z, t, g = ls.z[0, row, col], ls.target[0, row, col], ls.grad_z[0, row, col]
    name = "dL/dz" if ls.pool != "none" else "dL/dy"
    return f"{name}{_at((row, col))} = 2 × ({fmt(z)} − {term(t)}) = {fmt(g)}"


def pool_equation(ls: Lesson, tr: GradTrace) -> str:
    """How dL/dy at one conv output cell came back through the pooling."""
    where = _at(tr.index[1:])
    if not tr.terms:
        why = (
            "it won no pooling window"
            if ls.pool == "max"
            else "no pooling window covered it (the windows stop before it)"
        )
        return f"dL/dy{where} = 0: {why}"
    if ls.pool == "max":
        parts = " + ".join(f"dL/dz{_at(t.cell)}" for t in tr.terms)
        nums = " + ".join(term(t.grad) for t in tr.terms)
        won = "that window" if len(tr.terms) == 1 else "those windows"
        return f"dL/dy{where} = {parts} (it won {won}) = {nums} = {fmt(tr.total)}"
    parts = " + ".join(f"{term(t.grad)} / {int(t.factor)}" for t in tr.terms)
    return f"dL/dy{where} = {parts} (its share of each window) = {fmt(tr.total)}"


def weight_equation(tr: GradTrace, channels: int = 1) -> str:
    """dL/dW[i,j] = Σ over output cells of input pixel × dL/dy."""
    o, c, i, j = tr.index
    name = f"dL/dW{_at((i, j))}" + (f" (slice {c + 1})" if channels > 1 else "")
    sums = " + ".join(f"{term(t.factor)}×{term(t.grad)}" for t in tr.terms)
    return f"{name} = {sums} = {fmt(tr.total)}"


def bias_equation(tr: GradTrace) -> str:
    sums = " + ".join(term(t.grad) for t in tr.terms)
    return f"dL/db = {sums} = {fmt(tr.total)}"


def input_equation(tr: GradTrace, channels: int = 1) -> str:
    """dL/dx[r,c] = Σ over the weights that touched it of weight × dL/dy."""
    c, r, col = tr.index
    name = f"dL/dx{_at((r, col))}" + (f" (channel {c + 1})" if channels > 1 else "")
    if not tr.terms:
        return f"{name} = 0: no window put a kernel weight on this pixel"
    sums = " + ".join(f"{term(t.factor)}×{term(t.grad)}" for t in tr.terms)
    return f"{name} = {sums} = {fmt(tr.total)}"


def input_terms_words(tr: GradTrace) -> list[str]:
    """Each term of dL/dx named: which weight, from which output cell."""
    return [
        f"W{_at(t.tap)} = {fmt(t.factor)} touched it when computing y{_at(t.cell)}, "
        f"whose dL/dy is {fmt(t.grad)}"
        for t in tr.terms
    ]


def update_equation(ls: Lesson, channel: int, row: int, col: int) -> str:
    w = ls.weight[0, channel, row, col]
    g = ls.grad_w[0, channel, row, col]
    new = ls.new_weight[0, channel, row, col]
    return f"W{_at((row, col))} ← {fmt(w)} − {fmt(ls.lr)} × {term(g)} = {fmt(new)}"


def bias_update_equation(ls: Lesson) -> str:
    return f"b ← {fmt(ls.bias)} − {fmt(ls.lr)} × {term(ls.grad_b)} = {fmt(ls.new_bias)}"


def weight_grad_as_correlation(ls: Lesson) -> np.ndarray:
    """dL/dW computed another way: the padded input cross-correlated with dL/dy used as the
    kernel, with the layer's stride and dilation swapped, cropped to the kernel's size
    (1, C, kH, kW). The page shows it equals `conv2d_backward`'s dL/dW."""
    kh, kw = ls.weight.shape[-2:]
    (pt, pb), (pl, pr) = resolve_conv_padding(ls.padding, (kh, kw), ls.stride, ls.dilation)
    xp = np.pad(ls.x, ((0, 0), (pt, pb), (pl, pr)))
    out = conv2d(xp[:, None], ls.grad_y[None], stride=ls.dilation, dilation=ls.stride)
    return out[:, 0, :kh, :kw][None]


def transposed_settings(ls: Lesson) -> dict | None:
    """The transposed convolution (stride, padding, output_padding, dilation) that turns dL/dy
    into dL/dx with this kernel: dL/dx is exactly that (tests check it). None for 'same'/'valid'
    text padding with an uneven split (no single number says it)."""
    kh, kw = ls.weight.shape[-2:]
    (pt, pb), (pl, pr) = resolve_conv_padding(ls.padding, (kh, kw), ls.stride, ls.dilation)
    if pt != pb or pl != pr:
        return None
    h, w = ls.x.shape[-2:]
    ho, wo = ls.y.shape[-2:]
    (sh, sw), (dh, dw) = ls.stride, ls.dilation
    oph = h + 2 * pt - dh * (kh - 1) - 1 - (ho - 1) * sh
    opw = w + 2 * pl - dw * (kw - 1) - 1 - (wo - 1) * sw
    return dict(stride=(sh, sw), padding=(pt, pl), output_padding=(oph, opw), dilation=(dh, dw))
