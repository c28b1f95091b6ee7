"""`Run`: one training's state in one process, without threads: the model, its optimizer and
random streams, and what it has learned so far (history, batch records, timings, the last
snapshot). `cnnviz.training.loop.fit` trains it; the worker process and the CLI each drive one;
the app keeps one that mirrors its worker's numbers and holds the latest weights it sent."""

from __future__ import annotations

import collections

import numpy as np
import torch
from torch import nn

from cnnviz import arch, probe
from cnnviz.training.config import TrainConfig, TrainError
from cnnviz.training.records import Progress, Snapshot
from cnnviz.training.seeding import Streams, seed_dropouts, seeded_init
from cnnviz.training.update_rule import UpdateExample


def default_highlight(model: nn.Module) -> tuple[str, tuple[int, ...]] | None:
    """The first weight matrix / filter bank: its first filter's centre tap."""
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            return name, (0, 0) + tuple(s // 2 for s in p.shape[2:])
    for name, p in model.named_parameters():
        return name, (0,) * p.dim()
    return None


class Run:
    """One training run in this process; see the module docstring."""

    def __init__(self, spec, input_shape, classes, config: TrainConfig, probe=None, model=None):
        """`model`: train this module as it is (built and initialised by the caller, e.g.
        transfer learning's copy with frozen layers) instead of building `spec`."""
        self.config = config.validate()
        self.spec = spec
        self.input_shape = tuple(int(s) for s in input_shape)
        self.classes = tuple(classes)
        self.streams = Streams.from_seed(self.config.seed)
        if model is None:
            # ArchError (a ValueError with the culprit layer) if the net cannot work
            self.model = arch.build(spec, self.input_shape, len(self.classes))
            seeded_init(self.model, self.streams.init)
        else:
            self.model = model
        seed_dropouts(self.model, self.config.dropout, self.streams.dropout)
        self._optimizer: torch.optim.Optimizer | None = None  # made on first use: building one
        self.highlight = default_highlight(self.model)
        self.probe = None if probe is None else self.check_probe(probe)
        self.step = self.epoch = self.batch = 0
        self.batches_per_epoch = self.total_steps = 0
        self.history: list[dict] = []
        self.batches: list[dict] = []
        self.snapshot: Snapshot | None = None
        self.snapshot_count = 0
        self.recent: collections.deque = collections.deque(maxlen=50)  # (images, seconds)
        self.val_seconds = 0.0
        self.train_seconds = 0.0
        self.train_cpu = 0.0  # CPU time of the training thread (benchmarks)

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """Made on first use (the first one imports torch._dynamo, seconds on a busy server:
        the app's mirror of a run never needs one)."""
        if self._optimizer is None:
            self._optimizer = self._make_optimizer()
        return self._optimizer

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]  # frozen layers stay
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay, foreach=False)
        mu = c.momentum if c.optimizer == "momentum" else 0.0
        return torch.optim.SGD(
            params, lr=c.lr, momentum=mu, weight_decay=c.weight_decay, foreach=False
        )

    def check_probe(self, image) -> torch.Tensor:
        """A (C, H, W) image as the (1, C, H, W) tensor snapshots show, or TrainError."""
        x = np.asarray(image, dtype=np.float32)
        if x.ndim == 4 and x.shape[0] == 1:
            x = x[0]
        if x.shape != self.input_shape:
            raise TrainError(
                f"The probe image has shape {x.shape}; this model takes {self.input_shape}."
            )
        if not np.isfinite(x).all():
            raise TrainError("The probe image contains NaN or infinite values.")
        return torch.from_numpy(x.copy())[None]

    def default_probe(self, data) -> torch.Tensor:
        """The first validation image of `data` (a Dataset or TrainData), else its first
        training image, as `check_probe` returns it."""
        return self.check_probe((data.x_val if len(data.x_val) else data.x_train)[0])

    def check_highlight(self, param: str, index) -> tuple[str, tuple[int, ...]]:
        params = dict(self.model.named_parameters())
        if param not in params:
            raise TrainError(f"The model has no parameter named {param!r}.")
        shape = tuple(params[param].shape)
        index = tuple(int(i) for i in index)
        if len(index) != len(shape) or any(not 0 <= i < s for i, s in zip(index, shape)):
            raise TrainError(f"Index {index} is outside {param}'s shape {shape}.")
        return param, index

    def state(self) -> dict[str, np.ndarray]:
        """The weights (state_dict) as numpy copies: what travels between processes."""
        return {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})

    def progress(self, done: bool = False) -> Progress:
        steps, step = self.total_steps, self.step
        n = sum(i for i, _ in self.recent)
        s = sum(t for _, t in self.recent)
        ips = n / s if s > 0 else None
        eta = None
        if ips and steps:
            left_images = (steps - step) * self.config.batch_size
            val_left = self.config.epochs - len(self.history)
            per_val = self.val_seconds / max(len(self.history), 1)
            eta = 0.0 if done else left_images / ips + val_left * per_val
        return Progress(
            epoch=min(self.epoch + 1, self.config.epochs) if steps else 0,
            epochs=self.config.epochs,
            batch=self.batch,
            batches=self.batches_per_epoch,
            images_per_s=ips,
            eta_s=eta,
            fraction=step / steps if steps else 0.0,
            step=step,
            steps=steps,
        )

    def meta(self, dataset_name: str = "", status: str = "finished") -> dict:
        """What a checkpoint of this run records besides the weights."""
        hist = self.history
        last = hist[-1] if hist else {}
        metrics = {k: last.get(k) for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
        metrics["epochs_done"] = len(hist)
        metrics["steps"] = self.step
        return {
            "arch": self.spec if isinstance(self.spec, str) else arch.to_text(self.spec),
            "input_shape": list(self.input_shape),
            "classes": list(self.classes),
            "dataset": dataset_name,
            "config": self.config.to_dict(),
            "metrics": metrics,
            "history": [{k: v for k, v in h.items() if k != "batch_losses"} for h in hist],
            "status": status,
        }

    def take_snapshot(self, update: UpdateExample | None = None, lr: float | None = None):
        """What the net looks like now: every layer's output for the probe image, the first
        filters, weight and gradient histograms, and `update` (else the last one shown)."""
        if self.probe is None:
            raise TrainError("There is no image to show the activations of yet.")
        x = self.probe
        if update is None and self.snapshot is not None:
            update = self.snapshot.update  # keep showing the last real update
        if lr is None and self._optimizer is not None:
            lr = self._optimizer.param_groups[0]["lr"]
        elif lr is None:
            lr = self.snapshot.lr if self.snapshot is not None else self.config.lr
        was_training = self.model.training
        try:
            acts = probe.capture(self.model, x)
            filters = probe.first_filters(self.model)
            stats = probe.weight_grad_stats(self.model)
            with torch.no_grad():
                self.model.eval()
                probs = torch.softmax(self.model(x), dim=1)[0].numpy().copy()
        finally:
            self.model.train(was_training)
        self.snapshot = Snapshot(
            step=self.step,
            epoch=self.epoch + 1,
            batch=self.batch,
            time=self.train_seconds + self.val_seconds,
            activations=acts,
            filters=None if filters is None else np.array(filters, copy=True),
            stats=stats,
            update=update,
            probe=x[0].numpy().copy(),
            probs=probs,
            lr=lr,
        )
        self.snapshot_count += 1
        return self.snapshot
