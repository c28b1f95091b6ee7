"""What decides a training run: `TrainConfig` and its validation, and the names every layer
shares (optimizers, schedules, a training's statuses). No torch here: the app's settings form
imports this module without loading torch."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "step", "cosine")
STATUSES = ("new", "waiting", "running", "paused", "stopped", "finished", "failed")
DONE = ("stopped", "finished", "failed")


class TrainError(ValueError):
    """A training setting or request that cannot work; str() is one sentence."""


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved with the checkpoint)."""

    optimizer: str = "adam"  # "sgd" | "momentum" | "adam"
    lr: float = 1e-3
    schedule: str = "constant"  # "constant" | "step" (x0.1 at 50% and 75%) | "cosine" (to 0)
    batch_size: int = 64
    epochs: int = 3
    weight_decay: float = 0.0  # L2: adds weight_decay * w to every gradient
    dropout: float | None = None  # overrides every dropout layer's p
    augment: bool = False  # the dataset's own augmentation (cnnviz.data.augment_batch)
    seed: int = 0
    n_train: int | None = None  # None: all training images; n: a stratified subset of n
    momentum: float = 0.9  # used by "momentum"; Adam uses betas (0.9, 0.999), eps 1e-8

    def validate(self) -> TrainConfig:
        """Itself if every setting is usable, else TrainError saying which and why."""

        def number(name, lo, hi, lo_open=False):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise TrainError(f"{name} must be a number, not {v!r}.")
            if v < lo or v > hi or (lo_open and v == lo):
                raise TrainError(
                    f"{name} must be {'above' if lo_open else 'at least'} {lo:g} and at most "
                    f"{hi:g}; it is {v:g}."
                )

        def whole(name, lo, hi):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TrainError(f"{name} must be a whole number, not {v!r}.")
            if not lo <= v <= hi:
                raise TrainError(f"{name} must be between {lo} and {hi}; it is {v}.")

        if self.optimizer not in OPTIMIZERS:
            raise TrainError(
                f"The optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}."
            )
        if self.schedule not in SCHEDULES:
            raise TrainError(
                f"The schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}."
            )
        number("lr", 0.0, 10.0, lo_open=True)
        whole("batch_size", 1, 4096)
        whole("epochs", 1, 1000)
        number("weight_decay", 0.0, 1.0)
        number("momentum", 0.0, 0.999)
        if self.dropout is not None:
            number("dropout", 0.0, 0.95)
        if not isinstance(self.augment, bool):
            raise TrainError(f"augment must be true or false, not {self.augment!r}.")
        whole("seed", 0, 2**31 - 1)
        if self.n_train is not None:
            whole("n_train", 1, 10**8)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A config from a dict (e.g. a checkpoint's JSON); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names}).validate()
