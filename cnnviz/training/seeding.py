"""Same seed, same run: weights are initialised, batches shuffled, images augmented and dropout
masks drawn from a run's own `torch.Generator`s, never torch's global one (which every thread
of the process shares)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Streams:
    """A run's four independent random streams."""

    init: torch.Generator
    shuffle: torch.Generator
    augment: torch.Generator
    dropout: torch.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        """Seeds 4s .. 4s+3, so seed s never reuses seed s+1's numbers."""
        first = 4 * seed
        return cls(*(torch.Generator().manual_seed(first + i) for i in range(4)))


class SeededDropout(nn.Dropout):
    """nn.Dropout whose masks come from its own generator (torch's global RNG is shared by all
    threads, so two trainings running at once would disturb each other's dropout)."""

    def __init__(self, p: float, generator: torch.Generator, channelwise: bool = False):
        super().__init__(p)
        self.generator = generator
        self.channelwise = channelwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p >= 1.0:
            return torch.zeros_like(x)
        shape = x.shape[:2] + (1,) * (x.dim() - 2) if self.channelwise else x.shape
        keep = torch.rand(shape, generator=self.generator, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)


def seeded_init(model: nn.Module, generator: torch.Generator) -> None:
    """torch's default initialisation, drawn from `generator` instead of the global RNG."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_parameters()


def seed_dropouts(model: nn.Module, p: float | None, generator: torch.Generator) -> None:
    """Every dropout layer draws from `generator` (and uses `p`, when given)."""
    for name, m in list(model.named_modules()):
        if type(m) in (nn.Dropout, nn.Dropout2d):
            new = SeededDropout(m.p if p is None else p, generator, type(m) is nn.Dropout2d)
            parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
            setattr(parent, name.rpartition(".")[2], new)
        elif isinstance(m, nn.modules.dropout._DropoutNd) and p is not None:
            m.p = p
