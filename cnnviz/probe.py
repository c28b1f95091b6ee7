"""What a net sees: every layer's output for one image, the first layer's filters, and
histograms of each layer's weights and gradients. Copies only: safe to hand to another thread.

Call these from the thread that owns the model (the trainer, between batches): `capture` puts
the model in eval mode for one forward pass and restores every module's mode afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.arch import first_tensor, module_kind, module_name, rows_of


@dataclass
class Activation:
    """One layer's output for one image, without the batch dimension."""

    index: int  # 0-based position in the nn.Sequential (or among the leaf modules)
    name: str  # spec token (conv8k3) or class name
    kind: str  # arch.KINDS or "other"
    shape: tuple  # values.shape: (C, H, W) or (N,)
    values: np.ndarray  # float32 copy


def _as_batch(model: nn.Module, x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[0] != 1:
        raise ValueError(
            f"capture takes one image shaped (1, C, H, W) or (C, H, W), not {tuple(t.shape)}."
        )
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else "cpu"
    return t.to(device=device, dtype=dtype)


def _copy(t: torch.Tensor) -> np.ndarray:
    return t.detach()[0].to("cpu", torch.float32).numpy().copy()


def capture(model: nn.Module, x) -> list[Activation]:
    """Every layer's output for one image x (1, C, H, W): eval mode, no gradients, numpy copies.

    An nn.Sequential runs layer by layer (exactly its own forward); any other module runs once
    with forward hooks on its leaf modules, removed afterwards. Each module's training flag is
    restored whatever happens."""
    batch = _as_batch(model, x)
    modes = [(m, m.training) for m in model.modules()]
    out: list[Activation] = []
    try:
        model.eval()
        with torch.no_grad():
            if isinstance(model, nn.Sequential) and type(model).forward is nn.Sequential.forward:
                h = batch
                for i, layer in enumerate(model):
                    h = layer(h)
                    out.append(_activation(i, layer, h))
            else:
                _capture_hooks(model, batch, out)
    finally:
        for m, training in modes:
            m.training = training
    return out


def _activation(i: int, layer: nn.Module, h) -> Activation:
    values = _copy(h)
    return Activation(i, module_name(layer), module_kind(layer), values.shape, values)


def _capture_hooks(model: nn.Module, batch: torch.Tensor, out: list[Activation]) -> None:
    def hook(module, inputs, output):
        t = first_tensor(output)
        if t is not None:
            out.append(_activation(len(out), module, t))

    handles = [m.register_forward_hook(hook) for m in rows_of(model)]
    try:
        model(batch)
    finally:
        for h in handles:
            h.remove()


def layer_weights(model: nn.Module) -> list[tuple[int, str, np.ndarray]]:
    """(index, class name, weight copy) of every top-level layer with a 2-D or 4-D weight."""
    out = []
    for i, m in enumerate(model.children()):
        w = getattr(m, "weight", None)
        if w is None or w.dim() not in (2, 4):
            continue
        out.append((i, type(m).__name__, w.detach().cpu().numpy().copy()))
    return out


def first_filters(model: nn.Module) -> np.ndarray | None:
    """The first conv layer's weights (out, in, kh, kw) as a float32 copy, or None."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.weight.detach().to("cpu", torch.float32).numpy().copy()
    return None


@dataclass
class Histogram:
    """Counts of values in equal bins between edges[0] and edges[-1], and summary numbers."""

    counts: np.ndarray  # int64 (bins,)
    edges: np.ndarray  # float64 (bins + 1,)
    n: int
    mean: float
    std: float
    min: float
    max: float
    norm: float  # L2 norm of all the values


def histogram(values, bins: int = 30) -> Histogram:
    """Histogram of the finite values (a tensor or an array) in `bins` equal bins from their
    min to their max (the last bin includes the max); NaN/Inf are left out and `n` counts only
    the finite values. Four passes in torch: a snapshot of 650k weights takes a few ms."""
    t = (
        values.detach()
        if isinstance(values, torch.Tensor)
        else torch.from_numpy(np.asarray(values))
    )
    t = t.reshape(-1).to("cpu", torch.float32)
    if t.numel():
        lo_t, hi_t = torch.aminmax(t)
        lo, hi = float(lo_t), float(hi_t)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            t = t[torch.isfinite(t)]
            if t.numel():
                lo_t, hi_t = torch.aminmax(t)
                lo, hi = float(lo_t), float(hi_t)
    n = int(t.numel())
    if n == 0:
        return Histogram(np.zeros(bins, np.int64), np.linspace(-1, 1, bins + 1), 0, *(np.nan,) * 5)
    a, b = lo, hi
    if a == b:
        pad = max(abs(a) * 1e-3, 1e-6)
        a, b = a - pad, b + pad
    counts = torch.histc(t, bins, a, b).to(torch.int64).numpy()
    total = float(torch.sum(t, dtype=torch.float64))
    norm = float(torch.linalg.vector_norm(t, dtype=torch.float64))
    mean = total / n
    std = math.sqrt(max(norm * norm / n - mean * mean, 0.0))
    return Histogram(counts, np.linspace(a, b, bins + 1), n, mean, std, lo, hi, norm)


@dataclass
class LayerStats:
    """One layer with parameters: its weights' (and biases') histograms and its gradients'."""

    index: int  # same numbering as capture / arch.summarize rows
    name: str
    kind: str
    shape: tuple  # the weight tensor's shape
    weights: Histogram  # of the "weight" tensor (batch norm: its scale γ)
    grads: Histogram | None  # of weight.grad, None before the first backward
    biases: Histogram | None = None
    bias_grads: Histogram | None = None

    @property
    def grad_to_weight(self) -> float | None:
        """|grad| / |w|: how big a step the gradient is, relative to the weights."""
        if self.grads is None or not self.weights.norm:
            return None
        return self.grads.norm / self.weights.norm


def weight_grad_stats(model: nn.Module, bins: int = 30) -> list[LayerStats]:
    """A LayerStats for every layer (top-level for an nn.Sequential, else leaf module) that has a
    `weight` parameter, with weight and gradient histograms."""
    stats = []
    for i, m in enumerate(rows_of(model)):
        weight = _main_param(m, "weight")
        if weight is None:
            continue
        bias = _main_param(m, "bias")
        stats.append(
            LayerStats(
                i,
                module_name(m),
                module_kind(m),
                tuple(weight.shape),
                histogram(weight, bins),
                None if weight.grad is None else histogram(weight.grad, bins),
                None if bias is None else histogram(bias, bins),
                None if bias is None or bias.grad is None else histogram(bias.grad, bins),
            )
        )
    return stats


def _main_param(m: nn.Module, name: str) -> torch.Tensor | None:
    """The module's own parameter `name`, or for a block the first one found inside it."""
    for pname, p in m.named_parameters():
        if pname == name or pname.endswith("." + name):
            return p
    return None
