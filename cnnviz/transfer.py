"""Transfer learning shown rather than told: reuse a trained net's conv layers on new classes
and compare with the same net trained from scratch on the same few pictures.

`transfer_vs_scratch(base, train, val, epochs, seed)` copies `base`, freezes every conv layer
(their weights keep what the base learned), puts a new final Linear layer for the new classes
and trains only what is not frozen; then it trains the same architecture from a fresh seeded
initialisation, every layer, on the same images. Both go through the project's training loop
(`cnnviz.training.fit`) with the same settings and seed; the result holds both validation
curves and how many parameters each trained. `few_per_class` picks the few pictures.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cnnviz.numbers import percent_text

FROZEN_KINDS = (nn.Conv2d, nn.modules.batchnorm._BatchNorm)  # "the conv layers"
WAYS = ("transfer", "scratch")


@dataclass(frozen=True)
class Curve:
    """One way's numbers per epoch (index 0 = after the first epoch)."""

    val_acc: list[float]
    val_loss: list[float]
    train_loss: list[float]
    trainable: int  # parameters this way trained


@dataclass(frozen=True)
class TransferResult:
    transfer: Curve
    scratch: Curve
    total_params: int  # parameters of the net (the same for both)
    n_train: int  # training images
    n_val: int
    n_classes: int
    epochs: int
    seed: int
    model: nn.Module | None = field(default=None, repr=False, compare=False)  # the reused net


def few_per_class(dataset, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): `per_class` training images of every class (all of a class that has fewer),
    drawn with `seed`, in class order. `dataset` is a Dataset (its training split) or (x, y)."""
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)):
        raise ValueError(f"Images per class must be a whole number, not {per_class!r}.")
    if per_class < 1:
        raise ValueError(f"Images per class must be at least 1, not {per_class}.")
    x, y = (dataset.x_train, dataset.y_train) if hasattr(dataset, "x_train") else dataset
    x, y = np.asarray(x), np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        picked.append(np.sort(rng.permutation(idx)[:per_class]))
    idx = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    return np.ascontiguousarray(x[idx], dtype=np.float32), y[idx]


def as_channels(dataset, channels: int):
    """`dataset` with `channels` colour channels (a net's input): colour pictures averaged to
    gray for a gray net, gray ones repeated for a colour net; ValueError otherwise."""
    import dataclasses

    have = dataset.input_shape[0]
    if have == channels:
        return dataset
    if channels not in (1, 3) or have not in (1, 3):
        raise ValueError(f"Pictures with {have} channels cannot feed a net that takes {channels}.")

    def convert(x: np.ndarray) -> np.ndarray:
        out = x.mean(axis=1, keepdims=True) if channels == 1 else np.repeat(x, 3, axis=1)
        return np.ascontiguousarray(out, dtype=np.float32)

    word = "gray" if channels == 1 else "colour"
    return dataclasses.replace(
        dataset,
        **{f"x_{s}": convert(getattr(dataset, f"x_{s}")) for s in ("train", "val", "test")},
        notes=(*dataset.notes, f"Pictures made {word} for a net that takes {channels} channel(s)."),
    )


def trainable_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _last_linear(model: nn.Module) -> str:
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError("This net has no final linear layer to replace for the new classes.")
    return names[-1]


def with_new_head(base: nn.Module, n_classes: int, generator: torch.Generator) -> nn.Module:
    """A copy of `base` whose last Linear layer is a new one with `n_classes` outputs
    (torch's default initialisation, drawn from `generator`); every parameter trainable."""
    from cnnviz.training.seeding import seeded_init

    model = copy.deepcopy(base)
    for p in model.parameters():
        p.requires_grad_(True)
    name = _last_linear(model)
    old = model.get_submodule(name)
    head = nn.Linear(old.in_features, n_classes, bias=old.bias is not None)
    seeded_init(head, generator)
    parent_name, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, head)
    return model


def freeze_convs(model: nn.Module) -> nn.Module:
    """`model` with every conv (and batch-norm) layer's parameters frozen (requires_grad off)."""
    for m in model.modules():
        if isinstance(m, FROZEN_KINDS):
            for p in m.parameters(recurse=False):
                p.requires_grad_(False)
    return model


def _check(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if x.ndim != 4 or len(x) != len(y):
        raise ValueError(f"The {what} pictures must be (N, C, H, W) with one label each.")
    if len(y) == 0:
        raise ValueError(f"There are no {what} pictures.")
    if not np.isfinite(x).all():
        raise ValueError(f"The {what} pictures contain NaN or infinite values.")


def transfer_vs_scratch(
    base: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    epochs: int = 10,
    seed: int = 0,
    lr: float = 0.01,
    batch_size: int = 16,
    optimizer: str = "adam",
    n_classes: int | None = None,
    on_epoch: Callable[[str, int, int], None] | None = None,
) -> TransferResult:
    """Frozen conv layers + a new head vs the same net from scratch, on the same images.

    `train` and `val` are (x (N, C, H, W) float32 in the base's input shape, y int labels
    0..n_classes-1); `n_classes` defaults to the largest label + 1. `on_epoch(way, epoch,
    epochs)` is called after each epoch of each way ("transfer" first, then "scratch").
    ValueError (one sentence) for pictures that cannot be used; `base` is never changed."""
    from cnnviz.training import Hooks, Run, TrainConfig, fit
    from cnnviz.training.loop import TrainData
    from cnnviz.training.seeding import seeded_init

    x_tr, y_tr = np.ascontiguousarray(train[0], np.float32), np.asarray(train[1], np.int64)
    x_va, y_va = np.ascontiguousarray(val[0], np.float32), np.asarray(val[1], np.int64)
    _check(x_tr, y_tr, "training")
    _check(x_va, y_va, "validation")
    k = int(n_classes or max(y_tr.max(), y_va.max()) + 1)
    if min(y_tr.min(), y_va.min()) < 0 or max(y_tr.max(), y_va.max()) >= k:
        raise ValueError(f"The labels must be between 0 and {k - 1}.")
    config = TrainConfig(
        optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed
    ).validate()
    data = TrainData(x_tr, y_tr, x_va, y_va)
    shape, classes = x_tr.shape[1:], [str(i) for i in range(k)]

    reused = freeze_convs(with_new_head(base, k, torch.Generator().manual_seed(seed)))
    scratch = with_new_head(base, k, torch.Generator().manual_seed(seed))
    seeded_init(scratch, torch.Generator().manual_seed(seed))  # forget everything base learned
    curves = {}
    for way, model in zip(WAYS, (reused, scratch)):
        # frozen batch norms keep the base's running statistics too (fit trains in train mode)
        frozen_norms = [
            m
            for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and not any(p.requires_grad for p in m.parameters())
        ]

        class Report(Hooks):
            snapshots = False

            def next_batch(self, run, norms=frozen_norms) -> bool:
                for m in norms:
                    m.eval()
                return True

            def epoch_done(self, run, record, way=way) -> bool:
                if on_epoch is not None:
                    on_epoch(way, record["epoch"], epochs)
                return False

        run = Run("", shape, classes, config, model=model)
        try:
            fit(run, data, Report())
        except RuntimeError as e:  # a base whose input does not fit these pictures
            raise ValueError(
                f"The net cannot take pictures of shape {tuple(shape)} ({str(e).split(chr(10))[0]})."
            ) from None
        curves[way] = Curve(
            val_acc=[float(h["val_acc"]) for h in run.history],
            val_loss=[float(h["val_loss"]) for h in run.history],
            train_loss=[float(h["train_loss"]) for h in run.history],
            trainable=trainable_count(model),
        )
    return TransferResult(
        transfer=curves["transfer"],
        scratch=curves["scratch"],
        total_params=sum(p.numel() for p in scratch.parameters()),
        n_train=len(y_tr),
        n_val=len(y_va),
        n_classes=k,
        epochs=epochs,
        seed=seed,
        model=reused.eval(),
    )


def transfer_sentence(result: TransferResult, per_class: int | None = None) -> str:
    """The comparison in one sentence with the real numbers (the last epoch's)."""
    pictures = (
        f"With {per_class} picture{'s' if per_class != 1 else ''} per class"
        if per_class is not None
        else f"With {result.n_train:,} training pictures"
    )
    epochs = f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}"
    t, s = result.transfer, result.scratch
    return (
        f"{pictures}, reusing the frozen conv layers reaches {percent_text(t.val_acc[-1])} "
        f"validation accuracy after {epochs}; the same net from scratch "
        f"{percent_text(s.val_acc[-1])}; only {t.trainable:,} of {result.total_params:,} "
        f"parameters trained (from scratch: all {s.trainable:,})."
    )
