"""What a filter wants: activation maximisation.

`maximize_channel(model, layer, channel, input_shape)` starts from a small seeded random image
and climbs the gradient of the channel's mean activation with respect to the image, regularised
so the picture stays readable (Olah et al., "Feature Visualization", Distill 2017):

- every step the image is shifted by a few random pixels before the forward pass (jitter: a
  pattern must work wherever it sits, so single-pixel noise does not pay);
- the step is the gradient divided by its mean size (steady steps whatever the layer's scale);
- L2 decay pulls every pixel a little towards 0 (only what helps survives);
- every few steps a small Gaussian blur removes high-frequency noise;
- pixels are clamped to the data range [0, 1].

The model's parameters and their gradients are never touched (torch.autograd.grad on the image).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _layer(model: nn.Module, layer: str) -> nn.Module:
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        names = ", ".join(n for n in modules if n) or "none"
        raise ValueError(f"The net has no layer called {layer!r} (its layers: {names}).")
    return modules[layer]


# layers that pass each channel's values on, unchanged in order (monotone, channel by channel)
PASS_ON = (
    nn.ReLU,
    nn.ReLU6,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.modules.dropout._DropoutNd,
    nn.Identity,
)


def climbed_layer(model: nn.Module, layer: str) -> str:
    """The layer whose channel the ascent climbs for `layer`: itself, or for a ReLU or pooling
    layer (in a Sequential) the layer before them that made the channel. A ReLU or pool only
    passes the channel on, keeping its order, so it wants the same picture; but a channel the
    ReLU cuts to 0 everywhere for the random start has no gradient, and the one before it has."""
    module = _layer(model, layer)
    parent_name, _, attr = layer.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if not isinstance(module, PASS_ON) or not isinstance(parent, nn.Sequential):
        return layer
    names = [n for n, _ in parent.named_children()]
    i = names.index(attr)
    while i > 0 and isinstance(parent.get_submodule(names[i]), PASS_ON):
        i -= 1
    if isinstance(parent.get_submodule(names[i]), PASS_ON):
        return layer  # nothing before it made the channel (the input itself)
    return f"{parent_name}.{names[i]}" if parent_name else names[i]


def _check_shape(input_shape) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"The input shape must be (channels, height, width), not {shape}.")
    return shape


def _channel_objective(model: nn.Module, layer: str, channel: int):
    """A function image batch -> the channel's mean activation per image (a tensor (N,))."""
    module = _layer(model, layer)
    box: dict = {}

    def hook(_m, _inp, out):
        box["out"] = out

    def objective(x: torch.Tensor) -> torch.Tensor:
        handle = module.register_forward_hook(hook)
        try:
            box.clear()
            model(x)
        finally:
            handle.remove()
        out = box.get("out")
        if not isinstance(out, torch.Tensor) or out.dim() < 2:
            raise ValueError(f"The layer {layer!r} gives no channels to excite.")
        if not 0 <= channel < out.shape[1]:
            raise ValueError(
                f"The layer {layer!r} has {out.shape[1]} channels (0-{out.shape[1] - 1}); "
                f"there is no channel {channel}."
            )
        return out[:, channel].reshape(len(out), -1).mean(1)

    return objective


def channel_activation(model: nn.Module, layer: str, channel: int, x) -> np.ndarray:
    """The channel's mean activation for each image of `x` ((C, H, W) or (N, C, H, W)), in eval
    mode: an (N,) array (N = 1 for one image)."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if t.dim() == 3:
        t = t[None]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _channel_objective(model, layer, channel)(t).numpy().astype(np.float64)
    finally:
        model.train(was_training)


def start_image(input_shape, seed: int = 0) -> np.ndarray:
    """The small seeded random picture the ascent starts from, (C, H, W) in [0, 1]."""
    return _start(_check_shape(input_shape), torch.Generator().manual_seed(int(seed)))[0].numpy()


def _start(shape: tuple[int, int, int], gen: torch.Generator) -> torch.Tensor:
    return (0.1 + 0.05 * torch.randn((1, *shape), generator=gen)).clamp(0.0, 1.0)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A 3x3 Gaussian blur of each channel (replicated edges)."""
    g = torch.exp(-torch.tensor([1.0, 0.0, 1.0]) / (2 * sigma**2))
    k = torch.outer(g, g)
    k = (k / k.sum()).expand(x.shape[1], 1, 3, 3).contiguous()
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=x.shape[1])


def maximize_channel(
    model: nn.Module,
    layer: str,
    channel: int,
    input_shape,
    steps: int = 96,
    lr: float = 0.05,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
    decay: float = 0.01,
    blur_every: int = 4,
    blur_sigma: float = 0.6,
    jitter: int | None = None,
) -> np.ndarray:
    """A (C, H, W) float32 image in [0, 1] that excites `channel` of `layer` (a name from
        `model.named_modules()`): gradient ascent on the channel's mean activation from a seeded
        random start, with jitter, L2 decay, blur and clamping (see the module docstring); for a
    ReLU or pooling layer the ascent climbs the channel of the layer that made it (`climbed_layer`).
        `on_step(done, steps)` after each step (a progress bar). The model is left as it was;
        ValueError (one sentence) for a layer or channel the net does not have."""
    c, h, w = _check_shape(input_shape)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise ValueError(f"steps must be a whole number from 1 to 10,000, not {steps!r}.")
    channel_activation(model, layer, channel, np.zeros((c, h, w), np.float32))  # or ValueError
    objective = _channel_objective(model, climbed_layer(model, layer), channel)
    gen = torch.Generator().manual_seed(int(seed))
    jitter = max(1, min(h, w) // 14) if jitter is None else int(jitter)
    x = _start((c, h, w), gen)
    was_training = model.training
    model.eval()
    try:
        for i in range(steps):
            dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
            x.requires_grad_(True)
            score = objective(torch.roll(x, shifts=(dy, dx), dims=(2, 3))).sum()
            (grad,) = torch.autograd.grad(score, x)
            with torch.no_grad():
                x = x + lr * grad / (grad.abs().mean() + 1e-8)
                x = x * (1.0 - decay)
                if blur_every and (i + 1) % blur_every == 0:
                    x = _gaussian_blur(x, blur_sigma)
                x = x.clamp(0.0, 1.0)
            if on_step is not None:
                on_step(i + 1, steps)
    finally:
        model.train(was_training)
    return x.detach()[0].numpy().astype(np.float32)
