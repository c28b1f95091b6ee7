"""How many batches an epoch has and which learning rate each optimizer step uses."""

from __future__ import annotations

import math

from cnnviz.training.config import TrainConfig


def batch_count(n: int, batch_size: int) -> int:
    """Batches per epoch. A lone image left over joins the batch before it: batch norm cannot
    train on a batch of one (torch raises), and one image is a poor gradient anyway."""
    count = math.ceil(n / batch_size)
    return count - 1 if count > 1 and n % batch_size == 1 else count


def lr_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate used for optimizer step `step` (0-based) of `total_steps`.

    constant: lr; step: lr, then lr/10 from 50% of the steps, lr/100 from 75%;
    cosine: lr * (1 + cos(pi * step / total_steps)) / 2, from lr down towards 0."""
    if config.schedule == "step":
        return config.lr * (0.1 ** ((step >= total_steps // 2) + (step >= (3 * total_steps) // 4)))
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / max(total_steps, 1)))
    return config.lr
