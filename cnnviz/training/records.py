"""What a run records and the app reads: its progress, its live snapshots, and the metadata a
checkpoint keeps (with test metrics merged in one place). No torch here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.training.update_rule import UpdateExample

if TYPE_CHECKING:
    from cnnviz.training.evaluate import TestReport


@dataclass(frozen=True)
class Progress:
    epoch: int  # 1-based epoch being trained (epochs when done)
    epochs: int
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    images_per_s: float | None
    eta_s: float | None
    fraction: float  # 0..1 of all optimizer steps
    step: int = 0  # optimizer steps done
    steps: int = 0  # optimizer steps in the whole run


@dataclass(frozen=True)
class Snapshot:
    step: int
    epoch: int
    batch: int
    time: float  # seconds of training so far
    activations: list  # probe.capture(model, probe image)
    filters: np.ndarray | None  # probe.first_filters(model)
    stats: list  # probe.weight_grad_stats(model)
    update: UpdateExample | None
    probe: np.ndarray  # (C, H, W) image the activations are of
    probs: np.ndarray  # softmax of the model's output for it
    lr: float


def with_test_metrics(meta: dict, report: TestReport | None) -> dict:
    """A copy of a run's metadata whose metrics also hold `report`'s test accuracy and loss
    (what the runs list shows); `report` None: an unchanged copy."""
    if report is None:
        return dict(meta)
    metrics = dict(meta.get("metrics") or {})
    metrics.update(test_accuracy=float(report.accuracy), test_loss=float(report.loss))
    return {**meta, "metrics": metrics}
