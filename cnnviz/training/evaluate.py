"""How good a classifier is on a dataset split: accuracy, loss, confusion matrix, per-class
accuracy, the misclassified images. Any model works, e.g. one opened from a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.training.config import TrainError

EVAL_BATCH = 512


@dataclass(frozen=True)
class TestReport:
    accuracy: float
    loss: float
    confusion: np.ndarray  # (k, k) counts, row = true class, column = predicted
    per_class: np.ndarray  # (k,) accuracy per true class; NaN where the class has no test image
    misclassified: np.ndarray  # indices into x_test, in order
    predictions: np.ndarray  # (n,) predicted class per test image
    classes: tuple[str, ...]
    n: int


def evaluate_model(model: nn.Module, dataset, split: str = "test") -> TestReport:
    """A TestReport of any classifier (e.g. one loaded from a checkpoint) on a dataset split."""
    if split not in ("train", "val", "test"):
        raise TrainError(f"The split must be train, val or test, not {split!r}.")
    x = getattr(dataset, f"x_{split}")
    y = np.asarray(getattr(dataset, f"y_{split}"), dtype=np.int64)
    classes = tuple(dataset.classes)
    if len(y) == 0:
        raise TrainError(f"The {split} split has no images to evaluate on.")
    if tuple(x.shape[1:]) != tuple(dataset.input_shape):
        raise TrainError(f"The {split} images have shape {tuple(x.shape[1:])}.")
    try:
        loss, pred = predict(model, x, y)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TrainError(f"The model does not fit these images ({first}).") from None
    k = len(classes)
    if pred.max(initial=0) >= k:
        raise TrainError(f"The model gives more scores than the data's {k} classes.")
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)
    return TestReport(
        accuracy=float((pred == y).mean()),
        loss=loss,
        confusion=confusion,
        per_class=per_class,
        misclassified=np.flatnonzero(pred != y),
        predictions=pred,
        classes=classes,
        n=len(y),
    )


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and predicted classes in eval mode (restores the previous mode)."""
    was_training = model.training
    model.eval()
    try:
        total, preds = 0.0, []
        for i in range(0, len(y), EVAL_BATCH):
            xb = torch.from_numpy(np.ascontiguousarray(x[i : i + EVAL_BATCH], dtype=np.float32))
            yb = torch.from_numpy(y[i : i + EVAL_BATCH])
            out = model(xb)
            total += F.cross_entropy(out, yb, reduction="sum").item()
            preds.append(out.argmax(1).numpy())
        return total / len(y), np.concatenate(preds).astype(np.int64)
    finally:
        model.train(was_training)
