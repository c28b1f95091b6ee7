"""Small ideas a CNN course needs, each as numbers a page can show (numpy, no torch here).

- weight sharing: one kernel slides everywhere, so shifting the input shifts the feature map
  (translation equivariance), and a conv layer has far fewer parameters than a dense layer;
- convolution vs cross-correlation: deep learning's "convolution" does not flip the kernel;
- 1x1 convolutions: a weighted mix of the channels at each pixel;
- batch norm: batch statistics while training, running statistics at eval;
- Adam with L2 (`weight_decay` in torch.optim.Adam, what the Train page uses) vs AdamW
  (decoupled weight decay), step by step.

Tests compare each with torch (nn.functional, torch.optim).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnnviz.ops import conv2d
from cnnviz.shapes import SettingError, conv_output_size

# --------------------------------------------------------------------- weight sharing


def shift(a: np.ndarray, down: int, right: int) -> np.ndarray:
    """Move the last two axes' content down/right (negative: up/left), zeros coming in."""
    out = np.zeros_like(a)
    h, w = a.shape[-2:]
    if abs(down) >= h or abs(right) >= w:
        return out
    src_r = slice(max(0, -down), h - max(0, down))
    dst_r = slice(max(0, down), h - max(0, -down))
    src_c = slice(max(0, -right), w - max(0, right))
    dst_c = slice(max(0, right), w - max(0, -right))
    out[..., dst_r, dst_c] = a[..., src_r, src_c]
    return out


@dataclass(frozen=True)
class ShiftDemo:
    """conv(shift(x)) next to shift(conv(x)): equal wherever neither saw the border."""

    x: np.ndarray  # (C, H, W)
    shifted_x: np.ndarray
    y: np.ndarray  # conv2d(x) (1, Ho, Wo)
    y_of_shifted: np.ndarray  # conv2d(shift(x))
    shifted_y: np.ndarray  # shift(conv2d(x))
    same: np.ndarray  # (Ho, Wo) bool: the two agree exactly

    @property
    def agree(self) -> int:
        return int(self.same.sum())


def shift_demo(x, weight, down: int, right: int) -> ShiftDemo:
    """Shift the input, convolve; convolve, shift the map: the same numbers (stride 1)."""
    x = np.asarray(x, dtype=np.float32)
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim == 3:
        w = w[None]
    sx = shift(x, down, right)
    y, ys = conv2d(x, w), conv2d(sx, w)
    sy = shift(y, down, right)
    return ShiftDemo(x, sx, y, ys, sy, (ys == sy)[0])


@dataclass(frozen=True)
class ParamCount:
    """A conv layer and a dense layer that map the same input to the same output size."""

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    conv_weights: int
    conv_biases: int
    dense_weights: int
    dense_biases: int

    @property
    def conv(self) -> int:
        return self.conv_weights + self.conv_biases

    @property
    def dense(self) -> int:
        return self.dense_weights + self.dense_biases


def param_count(
    in_shape, out_channels: int, kernel: int, stride: int = 1, padding: int = 0
) -> ParamCount:
    """Parameters of nn.Conv2d(C, O, k) vs an nn.Linear from the flattened input to the
    flattened output of the same shape: sharing one kernel across positions vs a weight per
    (input value, output value) pair."""
    c, h, w = (int(v) for v in in_shape)
    ho, wo = conv_output_size((h, w), kernel, stride, padding).size
    n_in, n_out = c * h * w, out_channels * ho * wo
    return ParamCount(
        (c, h, w),
        (out_channels, ho, wo),
        out_channels * c * kernel * kernel,
        out_channels,
        n_in * n_out,
        n_out,
    )


# ----------------------------------------------------------- convolution vs correlation


def flip(weight: np.ndarray) -> np.ndarray:
    """The kernel turned 180° (last two axes reversed)."""
    return np.ascontiguousarray(np.asarray(weight)[..., ::-1, ::-1])


def true_convolution(x, weight, **conv_args) -> np.ndarray:
    """Convolution as mathematics defines it: cross-correlation with the flipped kernel."""
    return conv2d(x, flip(weight), **conv_args)


def flip_matters(weight: np.ndarray) -> bool:
    """Does flipping change the kernel? Only for kernels not symmetric under a 180° turn."""
    w = np.asarray(weight)
    return not np.array_equal(w, flip(w))


# ---------------------------------------------------------------------------- 1x1 conv


def pointwise(x, weight, bias=None) -> np.ndarray:
    """A 1x1 convolution: weight (O, C) mixes the C channels into O at every pixel."""
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim != 2:
        raise SettingError(f"A 1×1 layer's weights are (out, in) channels, not shape {w.shape}.")
    return conv2d(x, w[:, :, None, None], bias)


# --------------------------------------------------------------------------- batch norm


@dataclass(frozen=True)
class BatchNormResult:
    """What nn.BatchNorm2d does to one batch, in training or eval mode."""

    y: np.ndarray  # (N, C, H, W)
    mean: np.ndarray  # (C,) the mean used to normalise
    var: np.ndarray  # (C,) the (biased) variance used to normalise
    running_mean: np.ndarray  # (C,) after this batch (unchanged at eval)
    running_var: np.ndarray  # (C,) after this batch (unbiased batch variance mixed in)
    training: bool


def batch_norm(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> BatchNormResult:
    """torch.nn.functional.batch_norm on (N, C, H, W): training normalises with this batch's
    mean and biased variance and moves the running statistics towards the batch's (mean, and
    unbiased variance) by `momentum`; eval normalises with the running statistics."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise SettingError(f"batch norm takes a batch (N, C, H, W), not shape {x.shape}.")
    c = x.shape[1]
    rm = np.asarray(running_mean, dtype=np.float32).reshape(c)
    rv = np.asarray(running_var, dtype=np.float32).reshape(c)
    g = np.ones(c, np.float32) if weight is None else np.asarray(weight, np.float32).reshape(c)
    b = np.zeros(c, np.float32) if bias is None else np.asarray(bias, np.float32).reshape(c)
    count = x.shape[0] * x.shape[2] * x.shape[3]
    if training:
        if count < 2:
            raise SettingError(
                "Batch norm in training needs more than one value per channel "
                "(a batch of one 1×1 map has no variance)."
            )
        mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
        var = x.var(axis=(0, 2, 3), dtype=np.float64)
        new_rm = ((1 - momentum) * rm + momentum * mean).astype(np.float32)
        new_rv = ((1 - momentum) * rv + momentum * var * count / (count - 1)).astype(np.float32)
    else:
        mean, var, new_rm, new_rv = rm.astype(np.float64), rv.astype(np.float64), rm, rv
    shape = (1, c, 1, 1)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    y = y * g.reshape(shape) + b.reshape(shape)
    return BatchNormResult(
        y.astype(np.float32),
        mean.astype(np.float32),
        var.astype(np.float32),
        new_rm,
        new_rv,
        training,
    )


# ------------------------------------------------------------------------ Adam vs AdamW


@dataclass(frozen=True)
class AdamStep:
    """One step of Adam for every weight (arrays of the weights' shape)."""

    t: int
    w_old: np.ndarray
    grad: np.ndarray  # dL/dw from the loss
    g: np.ndarray  # what the moments see: grad + wd w (Adam + L2) or grad (AdamW)
    decayed: np.ndarray  # AdamW: w (1 - lr wd) before the Adam step; Adam + L2: w_old
    m: np.ndarray
    v: np.ndarray
    m_hat: np.ndarray
    v_hat: np.ndarray
    w_new: np.ndarray


def quadratic_grad(w: np.ndarray, target: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """dL/dw for L = sum(scale (w - target)^2) / 2: a bowl, steeper where scale is larger."""
    return (scale * (w - target)).astype(np.float32)


def adam_run(
    w0,
    target,
    scale,
    lr: float = 0.1,
    weight_decay: float = 0.1,
    decoupled: bool = False,
    steps: int = 5,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> list[AdamStep]:
    """`steps` steps of torch.optim.Adam(weight_decay=...) (L2: the decay term joins the
    gradient, so Adam's scaling divides it too) or torch.optim.AdamW (decoupled: every weight
    shrinks by lr x weight_decay x w, whatever its gradient), on a quadratic loss. float32,
    in torch's order of operations."""
    w = np.asarray(w0, dtype=np.float32).copy()
    target = np.asarray(target, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    if not (lr > 0 and weight_decay >= 0 and 1 <= steps <= 1000):
        raise SettingError("lr must be above 0, weight_decay 0 or more, steps 1 to 1000.")
    b1, b2 = betas
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    out = []
    for t in range(1, steps + 1):
        w_old = w.copy()
        grad = quadratic_grad(w, target, scale)
        if decoupled:
            w = (w * np.float32(1 - lr * weight_decay)).astype(np.float32)
            g = grad
        else:
            g = (grad + np.float32(weight_decay) * w).astype(np.float32)
        decayed = w.copy()
        m = (m + np.float32(1 - b1) * (g - m)).astype(np.float32)  # torch: m.lerp_(g, 1 - beta1)
        v = (v * np.float32(b2) + np.float32(1 - b2) * g * g).astype(np.float32)
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        # torch divides by a scalar as a multiply by its reciprocal: the same float32 numbers
        denom = (np.sqrt(v) * np.float32(1 / math.sqrt(bc2)) + np.float32(eps)).astype(np.float32)
        w = (w - np.float32(lr / bc1) * m / denom).astype(np.float32)
        out.append(
            AdamStep(
                t,
                w_old,
                grad,
                g,
                decayed,
                m.copy(),
                v.copy(),
                (m / np.float32(bc1)).astype(np.float32),
                (v / np.float32(bc2)).astype(np.float32),
                w.copy(),
            )
        )
    return out


def adam_equations(
    step: AdamStep,
    k: int,
    lr: float,
    weight_decay: float,
    decoupled: bool,
    betas=(0.9, 0.999),
    eps: float = 1e-8,
) -> list[str]:
    """The step of weight k written out with its numbers."""
    from cnnviz.backprop import fmt, term

    b1, b2 = betas
    w, grad, g = step.w_old[k], step.grad[k], step.g[k]
    lines = [f"dL/dw = {fmt(grad)}"]
    if decoupled:
        lines.append(
            f"w ← w × (1 − lr × wd) = {fmt(w)} × (1 − {fmt(lr)} × {fmt(weight_decay)}) "
            f"= {fmt(step.decayed[k])}   (decoupled: not seen by m and v)"
        )
        gname = "dL/dw"
    else:
        lines.append(
            f"g = dL/dw + wd × w = {fmt(grad)} + {fmt(weight_decay)} × {term(w)} "
            f"= {fmt(g)}   (L2: the decay goes through m and v)"
        )
        gname = "g"
    lines += [
        f"m = {fmt(b1)} m + {fmt(1 - b1)} {gname} = {fmt(step.m[k])};  "
        f"v = {fmt(b2)} v + {fmt(1 - b2)} {gname}² = {fmt(step.v[k])}",
        f"m̂ = m / (1 − {fmt(b1)}^{step.t}) = {fmt(step.m_hat[k])};  "
        f"v̂ = v / (1 − {fmt(b2)}^{step.t}) = {fmt(step.v_hat[k])}",
        f"w_new = {fmt(step.decayed[k])} − {fmt(lr)} × m̂ / (√v̂ + {eps:g}) = {fmt(step.w_new[k])}",
    ]
    return lines
