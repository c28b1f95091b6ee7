"""What the net answers for one image: its logits, and softmax written out step by step (the max
logit subtracted, exp of each, their sum, each divided by the sum) so a page can show the real
numbers behind every probability bar.

`softmax_steps` is numpy only; `logits` runs the model (torch loads on first call).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SoftmaxSteps:
    """softmax(logits) with every intermediate number (float64: the sum shown is the sum used).

    shift = max logit; exps = exp(logit − shift) (so the largest is exactly 1 and nothing
    overflows); total = sum of exps; probs = exps / total. Subtracting the shift changes no
    probability: exp(a − m) / Σ exp(b − m) = exp(a) / Σ exp(b)."""

    logits: np.ndarray  # (n,) the scores before softmax
    shift: float  # the largest logit
    exps: np.ndarray  # (n,) exp(logit − shift), each in (0, 1]
    total: float  # sum of exps, >= 1
    probs: np.ndarray  # (n,) exps / total, summing to 1

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k most probable classes as (class index, probability), most probable first;
        equal probabilities by class index."""
        order = sorted(range(len(self.probs)), key=lambda i: (-self.probs[i], i))
        return [(i, float(self.probs[i])) for i in order[: max(0, int(k))]]


def softmax_steps(logits) -> SoftmaxSteps:
    """Softmax of a vector of logits, step by step (see SoftmaxSteps). ValueError with a sentence
    for an empty vector, more than one dimension, or a value that is not a finite number."""
    a = np.asarray(logits)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"Softmax needs one score per class (a flat, non-empty vector), not shape {a.shape}."
        )
    try:
        a = a.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("Softmax needs numbers as scores.") from None
    if not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(
            f"The score of class {bad} is {a[bad]}, not a finite number: the model's output is "
            f"broken (its weights may have diverged while training)."
        )
    shift = float(a.max())
    exps = np.exp(a - shift)
    total = float(exps.sum())
    return SoftmaxSteps(a, shift, exps, total, exps / total)


def logits(model, x) -> np.ndarray:
    """The model's scores for one image x (C, H, W): (n_classes,) float32, in eval mode without
    gradients (every module's train/eval flag is given back). ValueError with a sentence when x
    is not one image or the model does not run on it."""
    import torch

    from cnnviz.attribution import as_image, evaluating, scores

    t = as_image(model, x)
    with evaluating(model), torch.no_grad():
        out = scores(model, t)
    return out[0].to("cpu", torch.float32).numpy().copy()
