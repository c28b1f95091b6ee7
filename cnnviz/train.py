"""Train a small CNN and publish what it learns while it learns.

- `Run.fit(data, control)` is the plain training loop, no threads: the worker process runs it
  for the app, `python -m cnnviz train` runs it directly. Between batches it asks its `Control`
  whether to go on, so pause, step and stop take effect within one batch.
- `Trainer` (cnnviz.trainer, importable from here) is what the Train page holds: it starts one
  worker *process* per training and mirrors the numbers, snapshots and weights the worker sends,
  so torch's Python loop never holds the app's GIL. `start`, `pause`, `resume`, `step_batch` and
  `stop` return at once; `status`, `progress()`, `history()`, `batch_history()`, `snapshot()`,
  `model` and `evaluate()` read what arrived.
- At most `GATE.max_running` trainings run at once on the machine (cores - 1, at least 1;
  CNNVIZ_MAX_TRAININGS overrides), whatever app process started them (cnnviz.gate); the others
  wait in one first-come-first-served queue and know their place. A paused training keeps its
  slot while nobody waits; once paused for `PAUSE_HOLD_S` seconds with someone waiting, it gives
  the slot up and queues again on resume.

Same seed, same result: weights are initialised, batches shuffled, images augmented and dropout
masks drawn from the run's own `torch.Generator`s, never torch's global one.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz import arch, probe
from cnnviz.data import augment_batch
from cnnviz.gate import GATE, Gate, default_max_running  # noqa: F401 - part of this API

log = logging.getLogger("cnnviz.train")

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "step", "cosine")
STATUSES = ("new", "waiting", "running", "paused", "stopped", "finished", "failed")
DONE = ("stopped", "finished", "failed")
PAUSE_HOLD_S = 30.0  # a paused trainer keeps its slot this long when others wait
SNAPSHOT_INTERVAL_S = 0.25  # at most 4 live snapshots a second while running
EVAL_BATCH = 512


class TrainError(ValueError):
    """A training setting or request that cannot work; str() is one sentence."""


# ---------------------------------------------------------------------------------------------
# settings


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


def lr_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate used for optimizer step `step` (0-based) of `total_steps`.

    constant: lr; step: lr, then lr/10 from 50% of the steps, lr/100 from 75%;
    cosine: lr * (1 + cos(pi * step / total_steps)) / 2, from lr down towards 0."""
    if config.schedule == "step":
        return config.lr * (0.1 ** ((step >= total_steps // 2) + (step >= (3 * total_steps) // 4)))
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / max(total_steps, 1)))
    return config.lr


# ---------------------------------------------------------------------------------------------


def batch_count(n: int, batch_size: int) -> int:
    """Batches per epoch. A lone image left over joins the batch before it: batch norm cannot
    train on a batch of one (torch raises), and one image is a poor gradient anyway."""
    count = math.ceil(n / batch_size)
    return count - 1 if count > 1 and n % batch_size == 1 else count


# ---------------------------------------------------------------------------------------------
# what the page reads


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
class UpdateExample:
    """One weight's update in the last step, with the real numbers the optimizer used.

    `w_new` is read from the weight after `optimizer.step()`; `formula_w_new` is the rule
    recomputed in float64 from the terms shown (agrees with `w_new` to float32 rounding)."""

    step: int
    layer: int  # index in the nn.Sequential
    param: str  # state_dict name, e.g. "0.weight"
    index: tuple[int, ...]
    optimizer: str
    lr: float
    w_old: float
    grad: float  # dL/dw from backward
    weight_decay: float
    g: float  # the gradient the optimizer uses: grad + weight_decay * w_old
    terms: (
        dict  # momentum: mu, v_old, v; adam: beta1, beta2, eps, t, m_old, v_old, m, v, m_hat, v_hat
    )
    w_new: float
    formula_w_new: float
    rule: str  # the update written out with these numbers, one equation per line


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


# ---------------------------------------------------------------------------------------------
# model helpers


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


def _seeded_init(model: nn.Module, generator: torch.Generator) -> None:
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


def _seed_dropouts(model: nn.Module, p: float | None, generator: torch.Generator) -> None:
    for name, m in list(model.named_modules()):
        if type(m) in (nn.Dropout, nn.Dropout2d):
            new = SeededDropout(m.p if p is None else p, generator, type(m) is nn.Dropout2d)
            parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
            setattr(parent, name.rpartition(".")[2], new)
        elif isinstance(m, nn.modules.dropout._DropoutNd) and p is not None:
            m.p = p


def _default_highlight(model: nn.Module) -> tuple[str, tuple[int, ...]] | None:
    """The first weight matrix / filter bank: its first filter's centre tap."""
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            return name, (0, 0) + tuple(s // 2 for s in p.shape[2:])
    for name, p in model.named_parameters():
        return name, (0,) * p.dim()
    return None


def _fmt(x: float) -> str:
    return f"{x:.7g}"


def _op(x: float) -> str:
    """A number as an operand: negative ones in parentheses."""
    return f"({x:.7g})" if x < 0 else f"{x:.7g}"


# ---------------------------------------------------------------------------------------------
# one run in this process: the plain loop


@dataclass
class TrainData:
    """The arrays one run trains and validates on (what a worker process receives)."""

    x_train: np.ndarray  # (N, C, H, W) float32
    y_train: np.ndarray  # (N,) int64
    x_val: np.ndarray
    y_val: np.ndarray
    augment: str = "none"  # the kind cnnviz.data.augment_batch applies


def train_data(dataset, config: TrainConfig) -> TrainData:
    """The arrays of `dataset` this config trains on (a stratified subset with n_train)."""
    ds = dataset
    if config.n_train is not None and config.n_train < len(ds.y_train):
        ds = ds.subset(config.n_train, seed=config.seed)
    return TrainData(
        x_train=np.ascontiguousarray(ds.x_train, dtype=np.float32),
        y_train=np.ascontiguousarray(ds.y_train, dtype=np.int64),
        x_val=np.ascontiguousarray(ds.x_val, dtype=np.float32),
        y_val=np.ascontiguousarray(ds.y_val, dtype=np.int64),
        augment=getattr(ds, "augment", "none") if config.augment else "none",
    )


class Control:
    """How `Run.fit` talks to whoever drives it. This base trains straight through, with live
    snapshots every `snapshot_interval` seconds; the worker process and the CLI subclass it."""

    snapshot_interval: float = SNAPSHOT_INTERVAL_S
    snapshots: bool = True  # False: no snapshots at all (the CLI)

    def next_batch(self, run: Run) -> bool:
        """Called before every batch (pause, step and stop live here): False ends the run."""
        return True

    def snapshot_due(self, run: Run, now: float, last: float) -> bool:
        return self.snapshots and now - last >= self.snapshot_interval

    def batch_done(self, run: Run, record: dict) -> None:
        """After each batch, with its record (also appended to run.batches)."""

    def epoch_done(self, run: Run, record: dict) -> bool:
        """After each epoch's validation, with its record; True stops the run early."""
        return False

    def snapshot_taken(self, run: Run, snap: Snapshot) -> None:
        """After each snapshot (also kept as run.snapshot)."""


class Run:
    """One training run in this process, without threads: the model, its optimizer and random
    streams, what it has learned so far (history, batch records, the last snapshot). `fit`
    trains it. The worker process drives one; the CLI drives one directly; the app keeps one
    that mirrors its worker's numbers and holds the latest weights the worker sent."""

    def __init__(self, spec, input_shape, classes, config: TrainConfig, probe=None):
        self.config = config.validate()
        self.spec = spec
        self.input_shape = tuple(int(s) for s in input_shape)
        self.classes = tuple(classes)
        # four independent streams per seed (seed s never reuses seed s+1's numbers)
        seed = 4 * self.config.seed
        self.g_init = torch.Generator().manual_seed(seed)
        self.g_shuffle = torch.Generator().manual_seed(seed + 1)
        self.g_augment = torch.Generator().manual_seed(seed + 2)
        self.g_dropout = torch.Generator().manual_seed(seed + 3)
        # ArchError (a ValueError with the culprit layer) if the net cannot work
        self.model = arch.build(spec, self.input_shape, len(self.classes))
        _seeded_init(self.model, self.g_init)
        _seed_dropouts(self.model, self.config.dropout, self.g_dropout)
        self._optimizer: torch.optim.Optimizer | None = None  # made on first use: building one
        self.highlight = _default_highlight(self.model)
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
        c, params = self.config, self.model.parameters()
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

    # ---- the loop -------------------------------------------------------------------------------

    def fit(self, data: TrainData, control: Control | None = None) -> str:
        """Train on `data` from the first epoch: "finished", or "stopped" when `control` says
        so (the model keeps what it learned). A broken loss raises TrainError."""
        control = control or Control()
        c = self.config
        x_train = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
        y_train = torch.from_numpy(np.ascontiguousarray(data.y_train, dtype=np.int64))
        x_val, y_val = data.x_val, np.asarray(data.y_val, dtype=np.int64)
        n = len(y_train)
        if n == 0:
            raise TrainError("The training set has no images.")
        bs = min(c.batch_size, n)
        per_epoch = batch_count(n, bs)
        total = per_epoch * c.epochs
        self.batches_per_epoch, self.total_steps = per_epoch, total
        if self.probe is None:  # default: the first validation (or training) image
            self.probe = self.check_probe((data.x_val if len(data.x_val) else data.x_train)[0])
        self.model.train()
        self._snap(control, None)
        last_snap = time.perf_counter()
        for epoch in range(c.epochs):
            self.epoch, self.batch = epoch, 0
            order = torch.randperm(n, generator=self.g_shuffle)
            losses, correct, seen = [], 0, 0
            for b in range(per_epoch):
                if not control.next_batch(self):
                    self._snap(control, None)
                    return "stopped"
                t0, c0 = time.perf_counter(), time.thread_time()
                idx = order[b * bs : n if b == per_epoch - 1 else (b + 1) * bs]
                xb, yb = x_train[idx], y_train[idx]
                if data.augment != "none":
                    xb = augment_batch(xb, data.augment, self.g_augment)
                step = self.step
                lr = lr_at(c, step, total)
                snap_due = control.snapshot_due(self, t0, last_snap)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                self.optimizer.zero_grad(set_to_none=True)
                out = self.model(xb)
                loss = F.cross_entropy(out, yb)
                loss.backward()
                before = self._before_step() if snap_due else None
                self.optimizer.step()
                loss_v = loss.item()
                hits = int((out.argmax(1) == yb).sum())
                if not math.isfinite(loss_v):
                    raise TrainError(
                        f"The loss became {loss_v} at step {step + 1}, so the weights are broken; "
                        f"the learning rate {c.lr:g} is probably too high, try a smaller one"
                    )
                losses.append(loss_v)
                correct += hits
                seen += len(yb)
                self.step, self.batch = step + 1, b + 1
                record = {
                    "step": step + 1,
                    "epoch": epoch + 1,
                    "batch": b + 1,
                    "loss": loss_v,
                    "acc": hits / len(yb),
                    "lr": lr,
                }
                self.batches.append(record)
                dt = time.perf_counter() - t0
                self.recent.append((len(yb), dt))
                self.train_seconds += dt
                self.train_cpu += time.thread_time() - c0
                control.batch_done(self, record)
                if snap_due:
                    t1, c1 = time.perf_counter(), time.thread_time()
                    update = self._after_step(before, step + 1, lr) if before else None
                    self._snap(control, update, lr=lr)
                    last_snap = time.perf_counter()
                    self.train_seconds += last_snap - t1  # snapshots count as training time
                    self.train_cpu += time.thread_time() - c1
            t0 = time.perf_counter()
            if len(y_val):
                val_loss, pred = _predict(self.model, x_val, y_val)
                val_acc = float((pred == y_val).mean())
            else:
                val_loss, val_acc = None, None
            self.val_seconds += time.perf_counter() - t0
            self.history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": float(np.mean(losses)),
                    "train_acc": correct / seen,
                    "val_loss": val_loss,
                    "val_acc": val_acc,
                    "lr": lr,
                    "seconds": self.train_seconds + self.val_seconds,
                    "train_seconds": self.train_seconds,
                    "train_cpu_seconds": self.train_cpu,
                    "batch_losses": losses,
                }
            )
            self.epoch = epoch + 1 if epoch + 1 < c.epochs else epoch
            if control.epoch_done(self, dict(self.history[-1])) and epoch + 1 < c.epochs:
                self._snap(control, None)
                return "stopped"
        self._snap(control, None)
        return "finished"

    # ---- snapshots ------------------------------------------------------------------------------

    def _snap(self, control: Control, update: UpdateExample | None, lr: float | None = None):
        if control.snapshots:
            control.snapshot_taken(self, self.take_snapshot(update, lr))

    def _before_step(self) -> dict | None:
        hl = self.highlight
        if hl is None:
            return None
        name, index = hl
        p = self.model.get_parameter(name)
        state = self.optimizer.state.get(p, {})
        d = {
            "name": name,
            "index": index,
            "p": p,
            "w_old": p.detach()[index].item(),
            "grad": p.grad[index].item() if p.grad is not None else 0.0,
        }
        if "momentum_buffer" in state and state["momentum_buffer"] is not None:
            d["v_old"] = state["momentum_buffer"][index].item()
        if "exp_avg" in state:
            d["m_old"] = state["exp_avg"][index].item()
            d["v_old"] = state["exp_avg_sq"][index].item()
        return d

    def _after_step(self, d: dict, step: int, lr: float) -> UpdateExample:
        c = self.config
        p, index = d["p"], d["index"]
        w_old, grad = d["w_old"], d["grad"]
        wd = c.weight_decay
        g = grad + wd * w_old
        w_new = p.detach()[index].item()
        state = self.optimizer.state.get(p, {})
        terms: dict = {}
        grad_line = f"dL/dw = {_fmt(grad)}"
        if wd:
            grad_line = (
                f"g = dL/dw + weight_decay*w = {_fmt(grad)} + {wd:g}*{_op(w_old)} = {_fmt(g)}"
            )
        gname = "g" if wd else "dL/dw"
        if c.optimizer == "adam":
            b1, b2 = self.optimizer.defaults["betas"]
            eps = self.optimizer.defaults["eps"]
            t = int(state["step"].item())
            m_old, v_old = d.get("m_old", 0.0), d.get("v_old", 0.0)
            m, v = state["exp_avg"][index].item(), state["exp_avg_sq"][index].item()
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            formula = w_old - lr * m_hat / (math.sqrt(v_hat) + eps)
            terms = dict(
                beta1=b1,
                beta2=b2,
                eps=eps,
                t=t,
                m_old=m_old,
                v_old=v_old,
                m=m,
                v=v,
                m_hat=m_hat,
                v_hat=v_hat,
            )
            lines = [
                grad_line,
                f"m = beta1*m + (1-beta1)*{gname} = {b1:g}*{_op(m_old)} + {1 - b1:.3g}*{_op(g)} = {_fmt(m)}",
                f"v = beta2*v + (1-beta2)*{gname}^2 = {b2:g}*{_op(v_old)} + {1 - b2:.3g}*{_op(g)}^2 = {_fmt(v)}",
                f"m_hat = m / (1 - beta1^t) = {_fmt(m)} / (1 - {b1:g}^{t}) = {_fmt(m_hat)}",
                f"v_hat = v / (1 - beta2^t) = {_fmt(v)} / (1 - {b2:g}^{t}) = {_fmt(v_hat)}",
                f"w_new = w_old - lr * m_hat / (sqrt(v_hat) + eps) = {_fmt(w_old)} - {lr:.4g} * "
                f"{_op(m_hat)} / ({_fmt(math.sqrt(v_hat))} + {eps:g}) = {_fmt(w_new)}",
            ]
        elif c.optimizer == "momentum":
            mu = c.momentum
            v_old = d.get("v_old")
            v = state["momentum_buffer"][index].item()
            formula = w_old - lr * v
            terms = dict(mu=mu, v_old=v_old, v=v)
            first = (
                f"v = {gname} = {_fmt(v)}  (first step: the velocity starts as the gradient)"
                if v_old is None
                else f"v = mu*v + {gname} = {mu:g}*{_op(v_old)} + {_op(g)} = {_fmt(v)}"
            )
            lines = [
                grad_line,
                first,
                f"w_new = w_old - lr * v = {_fmt(w_old)} - {lr:.4g} * {_op(v)} = {_fmt(w_new)}",
            ]
        else:
            formula = w_old - lr * g
            lines = [
                grad_line,
                f"w_new = w_old - lr * {gname} = {_fmt(w_old)} - {lr:.4g} * {_op(g)} = {_fmt(w_new)}",
            ]
        return UpdateExample(
            step=step,
            layer=int(d["name"].split(".")[0]) if d["name"].split(".")[0].isdigit() else -1,
            param=d["name"],
            index=tuple(index),
            optimizer=c.optimizer,
            lr=lr,
            w_old=w_old,
            grad=grad,
            weight_decay=wd,
            g=g,
            terms=terms,
            w_new=w_new,
            formula_w_new=formula,
            rule="\n".join(lines),
        )

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
        loss, pred = _predict(model, x, y)
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
def _predict(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
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


def __getattr__(name: str):
    """`Trainer` lives in cnnviz.trainer (it imports this module); `from cnnviz.train import
    Trainer` keeps working."""
    if name == "Trainer":
        from cnnviz.trainer import Trainer

        return Trainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
