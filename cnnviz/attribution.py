"""Why the net decided: Grad-CAM on a conv layer and saliency on the input, numpy in and out.

Both start from one class's logit (the score before softmax; by default the predicted class) and
ask autograd how it changes:

- `grad_cam(model, x, layer)`: at the layer's resolution, ReLU(Σ_k α_k·A_k) where A_k is the
  layer's k-th output map and α_k the spatial mean of d(logit)/dA_k (Selvaraju et al., 2017).
- `saliency(model, x)`: per input pixel, the largest |d(logit)/dx| over the input channels
  (Simonyan et al., 2013).

The model runs in eval mode (every module's flag is given back), gradients are asked only for the
tensors above (`torch.autograd.grad`): no parameter's `.grad` is touched, nothing is left hooked.
Upsampling and normalising for display happen in `cnnviz.render.overlay`.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import torch
from torch import nn


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Eval mode for the block, then every module's own train/eval flag back."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield model
    finally:
        for m, training in modes:
            m.training = training


def as_image(model: nn.Module, x) -> torch.Tensor:
    """One image (C, H, W) as a batch of one in the model's dtype and device; ValueError else."""
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 3:
        raise ValueError(
            f"The input must be one image shaped (channels, height, width), not {tuple(t.shape)}."
        )
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else "cpu"
    return t.to(device=device, dtype=dtype)[None].clone()


def run(model: nn.Module, batch: torch.Tensor):
    """The model's output on a batch of one; its failure as a ValueError naming the input shape."""
    try:
        return model(batch)
    except Exception as err:  # noqa: BLE001 - a user's model can fail in any way
        shape = " × ".join(str(s) for s in batch.shape[1:])
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"The model does not run on a {shape} input: {first}") from None


def scores(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """The model's output on a batch of one, checked to be one score per class: (1, n)."""
    out = run(model, batch)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 1:
        got = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"The model must give one score per class (a flat vector), but it gives {got}."
        )
    return out


def _target(out: torch.Tensor, target: int | None) -> int:
    n = out.shape[1]
    if target is None:
        return int(np.argmax(out[0].detach().to("cpu", torch.float32).numpy()))
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ValueError(f"The class must be a whole number from 0 to {n - 1}, not {target!r}.")
    if not 0 <= int(target) < n:
        raise ValueError(f"The model has {n} classes (0 to {n - 1}); there is no class {target}.")
    return int(target)


def conv_layer_names(model: nn.Module) -> list[str]:
    """The `named_modules()` names of the model's Conv2d layers, in the order they were
    registered (input to output for an nn.Sequential and for cnnviz's residual blocks)."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _layer(model: nn.Module, layer: str) -> nn.Module:
    modules = dict(model.named_modules())
    if not isinstance(layer, str) or not layer or layer not in modules:
        convs = conv_layer_names(model)
        known = ", ".join(convs) if convs else "none"
        raise ValueError(f"The model has no layer named {layer!r}; its conv layers are: {known}.")
    return modules[layer]


def predicted(model: nn.Module, x) -> int:
    """The class with the largest logit (the first of equal ones)."""
    from cnnviz.prediction import logits

    return int(np.argmax(logits(model, x)))


def grad_cam(model: nn.Module, x, layer: str, target: int | None = None) -> np.ndarray:
    """Grad-CAM of `layer` (a `named_modules()` name) for class `target` (None: the predicted
    class) on one image x (C, H, W): (h, w) float32 >= 0 at the layer's resolution,
    ReLU(Σ_k α_k·A_k), α_k = spatial mean of d(logit_target)/dA_k. If the layer runs more than
    once, its last call counts. ValueError with a sentence for a wrong shape, an unknown layer, a
    layer without a feature map, or a class out of range."""
    module = _layer(model, layer)
    batch = as_image(model, x).requires_grad_(True)  # so the layer's output is in the graph
    seen: list[torch.Tensor] = []
    me = threading.get_ident()

    def keep(m, inputs, output):
        if threading.get_ident() != me:  # another session's run of a shared model
            return None
        seen.append(output)
        # the next layer gets a copy: an in-place ReLU (torchvision's nets) must not overwrite
        # the maps A_k, nor turn d(logit)/dA_k into the gradient after the ReLU
        return output.clone() if isinstance(output, torch.Tensor) else None

    handle = module.register_forward_hook(keep)
    try:
        with evaluating(model), torch.enable_grad():
            out = scores(model, batch)
            if not seen:
                raise ValueError(f"Layer {layer!r} does not run when the model does.")
            acts = seen[-1]
            if not isinstance(acts, torch.Tensor) or acts.ndim != 4:
                got = tuple(acts.shape[1:]) if isinstance(acts, torch.Tensor) else "no tensor"
                raise ValueError(
                    f"Grad-CAM needs a layer whose output is a stack of maps (channels × height × "
                    f"width); layer {layer!r} gives {got}."
                )
            t = _target(out, target)
            (grads,) = torch.autograd.grad(out[0, t], acts, allow_unused=True)
    finally:
        handle.remove()
    a = acts.detach()[0]
    if grads is None:  # the class's score does not depend on this layer
        return np.zeros(a.shape[1:], dtype=np.float32)
    alpha = grads[0].mean(dim=(1, 2))
    cam = torch.relu((alpha[:, None, None] * a).sum(dim=0))
    return cam.to("cpu", torch.float32).numpy().copy()


def saliency(model: nn.Module, x, target: int | None = None) -> np.ndarray:
    """Saliency for class `target` (None: the predicted class) on one image x (C, H, W): (H, W)
    float32, the largest |d(logit_target)/dx| over the channels of each pixel."""
    batch = as_image(model, x).requires_grad_(True)
    with evaluating(model), torch.enable_grad():
        out = scores(model, batch)
        t = _target(out, target)
        (grads,) = torch.autograd.grad(out[0, t], batch, allow_unused=True)
    if grads is None:
        return np.zeros(batch.shape[2:], dtype=np.float32)
    return grads[0].abs().amax(dim=0).to("cpu", torch.float32).numpy().copy()
