"""A deep plain stack vs the same depth with skip connections: how big each layer's gradient is
while they train (the vanishing gradient that residual blocks cure), in numbers.

Both nets come from spec text (`cnnviz.arch`): a stem conv, then `depth` 3×3 convs as
conv-relu pairs (plain) or as depth/2 residual blocks (`res<C>`, two convs and a skip each),
then global average pooling and a linear layer. Both train with the same seed, data and plain
SGD on a small made-up task (is the left half of the picture brighter than the right half?),
and each step records the gradient norm of every conv's weights, first layer first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.arch.check import build
from cnnviz.arch.layer import ArchError

SIZE = 12  # pictures are 1×SIZE×SIZE


def plain_spec(depth: int, channels: int = 8) -> str:
    """A stem conv, then `depth` conv-relu layers, then gap-flat-fc."""
    body = "-".join([f"conv{channels}k3p1-relu"] * depth)
    return f"conv{channels}k3p1-relu-{body}-gap-flat-fc"


def residual_spec(depth: int, channels: int = 8) -> str:
    """The same convs (depth, even) grouped two by two into residual blocks."""
    body = "-".join([f"res{channels}k3"] * (depth // 2))
    return f"conv{channels}k3p1-relu-{body}-gap-flat-fc"


def toy_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n noisy pictures; class 1 when the left half is brighter than the right half."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 1, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, 2, n)
    x[:, :, :, : SIZE // 2] += np.where(y == 1, 0.5, -0.5)[:, None, None, None]
    return torch.from_numpy(x), torch.from_numpy(y)


@dataclass(frozen=True)
class GradientRun:
    """Per step: the loss and each conv's weight-gradient norm (first layer first)."""

    spec: str
    layers: list[str]  # "conv 1", "conv 2", ... in depth order
    losses: np.ndarray  # (steps,)
    grad_norms: np.ndarray  # (steps, n_convs)


def conv_weights(model: nn.Module) -> list[nn.Parameter]:
    """The K×K convs' weights in forward order (a block's 1×1 projection is left out)."""
    return [
        m.weight for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)
    ]


def gradient_run(
    spec: str, steps: int = 20, lr: float = 0.05, seed: int = 0, batch: int = 32
) -> GradientRun:
    """Train `spec` for `steps` SGD steps on the toy task; record every conv's gradient norm."""
    if not 1 <= steps <= 200:
        raise ArchError("steps must be 1 to 200.")
    torch.manual_seed(seed)
    model = build(spec, (1, SIZE, SIZE), 2)
    x, y = toy_data(batch * 4, seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    weights = conv_weights(model)
    losses, norms = [], []
    for step in range(steps):
        i = (step % 4) * batch
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[i : i + batch]), y[i : i + batch])
        loss.backward()
        losses.append(loss.item())
        norms.append([w.grad.norm().item() for w in weights])
        opt.step()
    names = [f"conv {k + 1}" for k in range(len(weights))]
    return GradientRun(spec, names, np.array(losses), np.array(norms))
