"""Train a small CNN live in a worker thread, and publish what it learns while it learns.

One `Trainer` per user: `start`, `pause`, `resume`, `step_batch` and `stop` return at once and
are safe from any thread; the worker checks them between batches, so a stop takes effect within
one batch. The page polls `status`, `progress()`, `history()`, `batch_history()` and
`snapshot()`: every value it gets is a copy the worker never touches again.

Why a thread and not a process: torch releases the GIL inside its kernels, a tiny CNN moves
little data, and the page reads the live model (activations, filters) without pickling. Each
worker calls `torch.set_num_threads(threads)` (default 1): with torch's OpenMP backend this only
sets the calling thread's pool, so the server's own thread setting is left alone.

At most `GATE.max_running` trainers run at once (cores - 1, at least 1, so one core stays free for
the web server; env CNNVIZ_MAX_TRAININGS overrides); the others wait in a FIFO queue and know
their place. A paused trainer keeps its slot while nobody waits; once it has been paused for
`PAUSE_HOLD_S` seconds and someone is waiting, it gives the slot up and queues again on resume.

Same seed, same result: weights are initialised, batches shuffled, images augmented and dropout
masks drawn from the trainer's own `torch.Generator`s, never torch's global one (which other
users' threads share).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz import arch, probe
from cnnviz.data import augment_batch

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
# the gate


def batch_count(n: int, batch_size: int) -> int:
    """Batches per epoch. A lone image left over joins the batch before it: batch norm cannot
    train on a batch of one (torch raises), and one image is a poor gradient anyway."""
    count = math.ceil(n / batch_size)
    return count - 1 if count > 1 and n % batch_size == 1 else count


def default_max_running() -> int:
    """Concurrent trainings this machine carries: CNNVIZ_MAX_TRAININGS, else cores - 1 (>= 1)."""
    env = os.environ.get("CNNVIZ_MAX_TRAININGS", "").strip()
    if env:
        try:
            n = int(env)
            if n >= 1:
                return n
        except ValueError:
            pass
        log.warning("CNNVIZ_MAX_TRAININGS=%r is not a whole number >= 1; ignored", env)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class Gate:
    """At most `max_running` holders at once; the others wait first come, first served."""

    def __init__(self, max_running: int | None = None):
        self._cond = threading.Condition()
        self._max = max_running or default_max_running()
        self._queue: list[object] = []
        self._running: set[int] = set()

    @property
    def max_running(self) -> int:
        return self._max

    @max_running.setter
    def max_running(self, n: int) -> None:
        with self._cond:
            self._max = max(1, int(n))
            self._cond.notify_all()

    def acquire(self, holder: object, cancelled: threading.Event) -> bool:
        """Block until `holder` may run (True) or `cancelled` is set (False)."""
        with self._cond:
            if id(holder) in self._running:
                return True
            self._queue.append(holder)
            try:
                while True:
                    if cancelled.is_set():
                        return False
                    if self._queue[0] is holder and len(self._running) < self._max:
                        self._running.add(id(holder))
                        return True
                    self._cond.wait(0.5)
            finally:
                self._queue.remove(holder)
                self._cond.notify_all()

    def release(self, holder: object) -> None:
        with self._cond:
            self._running.discard(id(holder))
            self._cond.notify_all()

    def wake(self) -> None:
        """Make waiters re-check their cancel flags now."""
        with self._cond:
            self._cond.notify_all()

    def position(self, holder: object) -> int | None:
        """1 for the next to run, 2 behind it, ...; None if not waiting."""
        with self._cond:
            for i, h in enumerate(self._queue):
                if h is holder:
                    return i + 1
        return None

    def holds(self, holder: object) -> bool:
        with self._cond:
            return id(holder) in self._running

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)


GATE = Gate()


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
# the trainer


class Trainer:
    """One training run in its own thread; see the module docstring."""

    def __init__(
        self,
        dataset,
        spec: str,
        config: TrainConfig | None = None,
        probe: np.ndarray | None = None,
        *,
        gate: Gate | None = None,
        threads: int = 1,
        snapshot_interval: float = SNAPSHOT_INTERVAL_S,
        on_epoch=None,
    ):
        self.config = (config or TrainConfig()).validate()
        self.dataset = dataset
        self.spec = spec
        self.classes = tuple(dataset.classes)
        self.input_shape = tuple(int(s) for s in dataset.input_shape)
        self.gate = gate or GATE
        self.threads = max(1, int(threads))
        self.snapshot_interval = float(snapshot_interval)
        self.on_epoch = on_epoch  # called in the worker as on_epoch(trainer, record); True stops

        # four independent streams per seed (seed s never reuses seed s+1's numbers)
        seed = 4 * self.config.seed
        self._g_init = torch.Generator().manual_seed(seed)
        self._g_shuffle = torch.Generator().manual_seed(seed + 1)
        self._g_augment = torch.Generator().manual_seed(seed + 2)
        self._g_dropout = torch.Generator().manual_seed(seed + 3)
        # ArchError (a ValueError with the culprit layer) if the net cannot work
        self.model = arch.build(spec, self.input_shape, len(self.classes))
        _seeded_init(self.model, self._g_init)
        _seed_dropouts(self.model, self.config.dropout, self._g_dropout)
        self.optimizer = self._make_optimizer()
        self._highlight = _default_highlight(self.model)
        self._probe = self._check_probe(probe) if probe is not None else None

        self._cond = threading.Condition()  # guards every field below
        self._model_lock = threading.RLock()  # held by the worker during a batch
        self._stop = threading.Event()
        self._status = "new"
        self._error: str | None = None
        self._paused = False
        self._steps_pending = 0
        self._snapshot_wanted = False
        self._thread: threading.Thread | None = None
        self._history: list[dict] = []
        self._batches: list[dict] = []
        self._snapshot: Snapshot | None = None
        self._snapshot_count = 0
        self._epoch = 0
        self._batch = 0
        self._step = 0
        n = len(dataset.y_train)
        n = min(n, self.config.n_train) if self.config.n_train else n
        bs = max(1, min(self.config.batch_size, n))
        self._batches_per_epoch = batch_count(n, bs) if n else 0  # shown while queued; the
        self._total_steps = self._batches_per_epoch * self.config.epochs  # worker re-counts
        self._recent: collections.deque = collections.deque(maxlen=50)  # (images, seconds)
        self._val_seconds = 0.0
        self._train_seconds = 0.0
        self._train_cpu = 0.0  # CPU time of the worker thread while training (benchmarks)

    # ---- controls: all return at once -------------------------------------------------------

    def start(self) -> None:
        """Queue for a slot and train; does nothing unless the status is "new"."""
        self._launch(paused=False)

    def pause(self) -> None:
        """Pause at the end of the current batch."""
        with self._cond:
            if self._status not in DONE:
                self._paused = True
                self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            if self._status == "new":
                self._paused = False
            elif self._status not in DONE:
                self._paused = False
                self._steps_pending = 0
                self._cond.notify_all()
                return
        self._launch(paused=False)

    def step_batch(self) -> None:
        """Train exactly one more batch, then pause. From "new": start paused and do one;
        while running: just pause after the current batch; when done: nothing."""
        with self._cond:
            if self._status in DONE:
                return
            self._paused = True
            if self._status == "new":
                self._steps_pending = 1
            elif self._status in ("paused", "waiting"):
                self._steps_pending += 1
            self._cond.notify_all()
            if self._status != "new":
                return
        self._launch(paused=True)

    def stop(self) -> None:
        """Stop within one batch; the model keeps what it learned so far."""
        self._stop.set()
        with self._cond:
            if self._status == "new":
                self._status = "stopped"
            self._cond.notify_all()
        self.gate.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True if it has (or never started)."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def set_probe(self, image: np.ndarray) -> None:
        """Show activations for this (C, H, W) image from the next snapshot on."""
        x = self._check_probe(image)
        with self._cond:
            self._probe = x
            self._snapshot_wanted = True
            self._cond.notify_all()

    def set_highlight(self, param: str, index: tuple[int, ...]) -> None:
        """Follow this weight (state_dict name and index) in the update example."""
        params = dict(self.model.named_parameters())
        if param not in params:
            raise TrainError(f"The model has no parameter named {param!r}.")
        shape = tuple(params[param].shape)
        index = tuple(int(i) for i in index)
        if len(index) != len(shape) or any(not 0 <= i < s for i, s in zip(index, shape)):
            raise TrainError(f"Index {index} is outside {param}'s shape {shape}.")
        with self._cond:
            self._highlight = (param, index)
            self._snapshot_wanted = True
            self._cond.notify_all()

    # ---- what the page reads ----------------------------------------------------------------

    @property
    def status(self) -> str:
        with self._cond:
            return self._status

    @property
    def error(self) -> str | None:
        with self._cond:
            return self._error

    @property
    def queue_position(self) -> int | None:
        return self.gate.position(self) if self.status == "waiting" else None

    @property
    def done(self) -> bool:
        return self.status in DONE

    def progress(self) -> Progress:
        with self._cond:
            steps, step = self._total_steps, self._step
            n = sum(i for i, _ in self._recent)
            s = sum(t for _, t in self._recent)
            ips = n / s if s > 0 else None
            eta = None
            if ips and steps:
                left_images = (steps - step) * self.config.batch_size
                val_left = self.config.epochs - len(self._history)
                per_val = self._val_seconds / max(len(self._history), 1)
                eta = left_images / ips + val_left * per_val
                if self._status in DONE:
                    eta = 0.0
            return Progress(
                epoch=min(self._epoch + 1, self.config.epochs) if steps else 0,
                epochs=self.config.epochs,
                batch=self._batch,
                batches=self._batches_per_epoch,
                images_per_s=ips,
                eta_s=eta,
                fraction=step / steps if steps else 0.0,
                step=step,
                steps=steps,
            )

    def history(self) -> list[dict]:
        """Per finished epoch: epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds
        (training + validation so far), train_seconds (training only, snapshots included),
        train_cpu_seconds (the worker thread's CPU time in training: immune to other load),
        batch_losses (the loss of each of its batches)."""
        with self._cond:
            return [dict(h, batch_losses=list(h["batch_losses"])) for h in self._history]

    def batch_history(self, since: int = 0) -> list[dict]:
        """Per batch trained (including the epoch in progress): step, epoch, batch, loss, acc, lr.
        `since`: skip the first `since` entries (for incremental polling)."""
        with self._cond:
            return [dict(b) for b in self._batches[since:]]

    @property
    def snapshot_count(self) -> int:
        """Snapshots taken so far (the benchmark divides their cost by this)."""
        with self._cond:
            return self._snapshot_count

    def snapshot(self) -> Snapshot | None:
        """The latest live snapshot. Before start and after the end (when no worker refreshes
        it) a missing or outdated one (new probe image or highlight) is taken here and now."""
        with self._cond:
            snap, wanted = self._snapshot, self._snapshot_wanted
            idle = self._status == "new" or (
                self._status in DONE and (self._thread is None or not self._thread.is_alive())
            )
        if idle and (snap is None or wanted):
            self._take_snapshot(None)
            with self._cond:
                snap = self._snapshot
        return snap

    def evaluate(self, split: str = "test") -> TestReport:
        """Accuracy, confusion matrix, per-class accuracy and misclassified indices on a split
        ("test", "val" or "train"); safe while training runs (waits for the current batch)."""
        with self._model_lock:
            return evaluate_model(self.model, self.dataset, split)

    def meta(self) -> dict:
        """What a checkpoint of this run records besides the weights."""
        hist = self.history()
        last = hist[-1] if hist else {}
        metrics = {k: last.get(k) for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
        metrics["epochs_done"] = len(hist)
        metrics["steps"] = self.progress().step
        return {
            "arch": self.spec if isinstance(self.spec, str) else arch.to_text(self.spec),
            "input_shape": list(self.input_shape),
            "classes": list(self.classes),
            "dataset": getattr(self.dataset, "name", ""),
            "config": self.config.to_dict(),
            "metrics": metrics,
            "history": [{k: v for k, v in h.items() if k != "batch_losses"} for h in hist],
            "status": self.status,
        }

    # ---- the worker ---------------------------------------------------------------------------

    def _launch(self, paused: bool) -> None:
        with self._cond:
            if self._status != "new" or self._stop.is_set():
                return
            self._paused = paused
            self._status = "waiting"
            self._thread = threading.Thread(target=self._run, name="cnnviz-trainer", daemon=True)
        self._thread.start()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c, params = self.config, self.model.parameters()
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay, foreach=False)
        mu = c.momentum if c.optimizer == "momentum" else 0.0
        return torch.optim.SGD(
            params, lr=c.lr, momentum=mu, weight_decay=c.weight_decay, foreach=False
        )

    def _check_probe(self, image) -> torch.Tensor:
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

    def _set(self, **kw) -> None:
        with self._cond:
            for k, v in kw.items():
                setattr(self, "_" + k, v)
            self._cond.notify_all()

    def _hold(self) -> bool:
        """Get a gate slot (status "waiting" meanwhile); False if stopped while waiting."""
        if self.gate.holds(self):
            return True
        with self._cond:
            self._status = "waiting"
        if not self.gate.acquire(self, self._stop):
            return False
        return True

    def _wait_turn(self) -> bool:
        """Between batches: honour pause, step and stop. True: train the next batch."""
        paused_since = None
        while True:
            with self._cond:
                if self._stop.is_set():
                    return False
                go = self._steps_pending > 0 or not self._paused
                if not go:
                    self._status = "paused"
                    if paused_since is None:
                        paused_since = time.monotonic()
                    want = self._snapshot_wanted
                    if not want:
                        self._cond.wait(0.25)
                        want = self._snapshot_wanted
                    hold_over = time.monotonic() - paused_since > PAUSE_HOLD_S
            if not go:
                if want:
                    self._take_snapshot(None)
                if hold_over and self.gate.waiting and self.gate.holds(self):
                    self.gate.release(self)  # let a waiting user train; queue again on resume
                continue
            if not self._hold():  # queues (status "waiting") if the slot was given up
                return False
            with self._cond:
                if self._stop.is_set():
                    return False
                if self._steps_pending > 0:
                    self._steps_pending -= 1
                    self._status = "paused"
                    return True
                if not self._paused:
                    self._status = "running"
                    return True
            # paused again while queued: keep the slot and wait

    def _run(self) -> None:
        try:
            torch.set_num_threads(self.threads)
            self._train()
        except Exception as e:  # noqa: BLE001 - a crash must reach its user, not the server
            log.exception("training failed")
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if not isinstance(e, ValueError):
                msg = f"{type(e).__name__}: {msg}"
            self._set(status="failed", error=f"Training failed: {msg.rstrip('.')}.")
        finally:
            self.gate.release(self)
            with self._cond:
                if self._status not in DONE:
                    self._status = "stopped"
                self._cond.notify_all()

    def _train(self) -> None:
        c, ds = self.config, self.dataset
        if c.n_train is not None and c.n_train < len(ds.y_train):
            ds = ds.subset(c.n_train, seed=c.seed)
        x_train = torch.from_numpy(np.ascontiguousarray(ds.x_train, dtype=np.float32))
        y_train = torch.from_numpy(np.ascontiguousarray(ds.y_train, dtype=np.int64))
        x_val, y_val = ds.x_val, np.asarray(ds.y_val, dtype=np.int64)
        n = len(y_train)
        if n == 0:
            raise TrainError("The training set has no images.")
        bs = min(c.batch_size, n)
        per_epoch = batch_count(n, bs)
        total = per_epoch * c.epochs
        aug_kind = getattr(ds, "augment", "none") if c.augment else "none"
        self._set(batches_per_epoch=per_epoch, total_steps=total)

        if not self._hold():
            return
        with self._cond:
            self._status = "paused" if self._paused else "running"
        self.model.train()
        self._take_snapshot(None)
        last_snap = time.perf_counter()
        for epoch in range(c.epochs):
            self._set(epoch=epoch, batch=0)
            order = torch.randperm(n, generator=self._g_shuffle)
            losses, correct, seen = [], 0, 0
            for b in range(per_epoch):
                if not self._wait_turn():
                    return
                t0, c0 = time.perf_counter(), time.thread_time()
                idx = order[b * bs : n if b == per_epoch - 1 else (b + 1) * bs]
                xb, yb = x_train[idx], y_train[idx]
                if aug_kind != "none":
                    xb = augment_batch(xb, aug_kind, self._g_augment)
                step = self._step
                lr = lr_at(c, step, total)
                snap_due = (
                    self.status == "paused"
                    or self._snapshot_wanted
                    or t0 - last_snap >= self.snapshot_interval
                )
                with self._model_lock:
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
                with self._cond:
                    self._step = step + 1
                    self._batch = b + 1
                    self._batches.append(
                        {
                            "step": step + 1,
                            "epoch": epoch + 1,
                            "batch": b + 1,
                            "loss": loss_v,
                            "acc": hits / len(yb),
                            "lr": lr,
                        }
                    )
                if snap_due:
                    update = self._after_step(before, step + 1, lr) if before else None
                    self._take_snapshot(update, lr=lr)
                    last_snap = time.perf_counter()
                dt = time.perf_counter() - t0
                with self._cond:
                    self._recent.append((len(yb), dt))
                    self._train_seconds += dt
                    self._train_cpu += time.thread_time() - c0
            t0 = time.perf_counter()
            if len(y_val):
                with self._model_lock:
                    val_loss, pred = _predict(self.model, x_val, y_val)
                val_acc = float((pred == y_val).mean())
            else:
                val_loss, val_acc = None, None
            dt = time.perf_counter() - t0
            with self._cond:
                self._val_seconds += dt
                self._history.append(
                    {
                        "epoch": epoch + 1,
                        "train_loss": float(np.mean(losses)),
                        "train_acc": correct / seen,
                        "val_loss": val_loss,
                        "val_acc": val_acc,
                        "lr": lr,
                        "seconds": self._train_seconds + self._val_seconds,
                        "train_seconds": self._train_seconds,
                        "train_cpu_seconds": self._train_cpu,
                        "batch_losses": losses,
                    }
                )
                self._epoch = epoch + 1 if epoch + 1 < c.epochs else epoch
                record = dict(self._history[-1])
            if self.on_epoch is not None and self.on_epoch(self, record) and epoch + 1 < c.epochs:
                self._take_snapshot(None)
                self._set(status="stopped")
                return
        self._take_snapshot(None)
        self._set(status="finished")

    # ---- snapshots ------------------------------------------------------------------------------

    def _before_step(self) -> dict | None:
        with self._cond:
            hl = self._highlight
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
                beta1=b1, beta2=b2, eps=eps, t=t, m_old=m_old, v_old=v_old, m=m, v=v,
                m_hat=m_hat, v_hat=v_hat,
            )  # fmt: skip
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

    def _take_snapshot(self, update: UpdateExample | None, lr: float | None = None) -> None:
        with self._cond:
            if self._probe is None:  # default: the first validation (or training) image
                ds = self.dataset
                self._probe = self._check_probe((ds.x_val if len(ds.x_val) else ds.x_train)[0])
            x = self._probe
            self._snapshot_wanted = False
            step, epoch, batch = self._step, self._epoch, self._batch
            if update is None and self._snapshot is not None:
                update = self._snapshot.update  # keep showing the last real update
            elapsed = self._train_seconds + self._val_seconds
        if lr is None:
            lr = self.optimizer.param_groups[0]["lr"]
        with self._model_lock:
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
        snap = Snapshot(
            step=step,
            epoch=epoch + 1,
            batch=batch,
            time=elapsed,
            activations=acts,
            filters=None if filters is None else np.array(filters, copy=True),
            stats=stats,
            update=update,
            probe=x[0].numpy().copy(),
            probs=probs,
            lr=lr,
        )
        with self._cond:
            self._snapshot = snap
            self._snapshot_count += 1


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
