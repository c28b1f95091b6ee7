"""The plain training loop, no threads: `fit(run, data, hooks)`.

`python -m cnnviz train` calls it directly; the worker process calls the same `fit` with hooks
that honour pause, step and stop (asked before every batch, so they act within one batch) and
publish records and snapshots to the app. The loop itself reads top to bottom: shuffle, for
every batch forward, loss, backward, step, record; validate at the end of every epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.data import augment_batch
from cnnviz.training import update_rule
from cnnviz.training.config import TrainConfig, TrainError
from cnnviz.training.evaluate import predict
from cnnviz.training.records import Snapshot
from cnnviz.training.run import Run
from cnnviz.training.schedule import batch_count, lr_at
from cnnviz.training.update_rule import UpdateExample

SNAPSHOT_INTERVAL_S = 0.25  # at most 4 live snapshots a second while running


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
        augment=ds.augment if config.augment else "none",
    )


class Hooks:
    """How `fit` talks to whoever drives it. This base trains straight through, with live
    snapshots every `snapshot_interval` seconds; the worker process and the CLI subclass it."""

    snapshot_interval: float = SNAPSHOT_INTERVAL_S
    snapshots: bool = True  # False: no snapshots at all (the CLI)
    # False: validate after the last epoch only (the others' records have no validation
    # numbers). Validation never changes the weights: the run is the same to the last bit.
    validate_every_epoch: bool = True

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

    def snapshot(self, run: Run, update: UpdateExample | None = None, lr: float | None = None):
        """Take a snapshot of `run` now (unless this driver wants none) and hand it on."""
        if self.snapshots:
            self.snapshot_taken(run, run.take_snapshot(update, lr))


def fit(run: Run, data: TrainData, hooks: Hooks | None = None) -> str:
    """Train `run` on `data` from the first epoch: "finished", or "stopped" when `hooks` says
    so (the model keeps what it learned). A broken loss raises TrainError."""
    hooks = hooks or Hooks()
    c, model = run.config, run.model
    x_train = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
    y_train = torch.from_numpy(np.ascontiguousarray(data.y_train, dtype=np.int64))
    n = len(y_train)
    if n == 0:
        raise TrainError("The training set has no images.")
    bs = min(c.batch_size, n)
    per_epoch = batch_count(n, bs)
    total = per_epoch * c.epochs
    run.batches_per_epoch, run.total_steps = per_epoch, total
    if run.probe is None:  # default: the first validation (or training) image
        run.probe = run.default_probe(data)
    model.train()
    hooks.snapshot(run)
    last_snap = time.perf_counter()
    for epoch in range(c.epochs):
        run.epoch, run.batch = epoch, 0
        order = torch.randperm(n, generator=run.streams.shuffle)
        losses, correct, seen = [], 0, 0
        for b in range(per_epoch):
            if not hooks.next_batch(run):
                hooks.snapshot(run)
                return "stopped"
            t0, c0 = time.perf_counter(), time.thread_time()
            idx = order[b * bs : n if b == per_epoch - 1 else (b + 1) * bs]
            xb, yb = x_train[idx], y_train[idx]
            if data.augment != "none":
                xb = augment_batch(xb, data.augment, run.streams.augment)
            step, lr = run.step, lr_at(c, run.step, total)
            snap_due = hooks.snapshot_due(run, t0, last_snap)
            optimizer = run.optimizer
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            watched = update_rule.watch(model, optimizer, run.highlight) if snap_due else None
            optimizer.step()
            loss_v, hits = loss.item(), int((out.argmax(1) == yb).sum())
            if not math.isfinite(loss_v):
                raise TrainError(
                    f"The loss became {loss_v} at step {step + 1}, so the weights are broken; "
                    f"the learning rate {c.lr:g} is probably too high, try a smaller one"
                )
            losses.append(loss_v)
            correct += hits
            seen += len(yb)
            run.step, run.batch = step + 1, b + 1
            record = {
                "step": step + 1,
                "epoch": epoch + 1,
                "batch": b + 1,
                "loss": loss_v,
                "acc": hits / len(yb),
                "lr": lr,
            }
            run.batches.append(record)
            dt = time.perf_counter() - t0
            run.recent.append((len(yb), dt))
            run.train_seconds += dt
            run.train_cpu += time.thread_time() - c0
            hooks.batch_done(run, record)
            if snap_due:  # snapshots count as training time
                t1, c1 = time.perf_counter(), time.thread_time()
                update = (
                    update_rule.explain(watched, optimizer, c, step + 1, lr) if watched else None
                )
                hooks.snapshot(run, update, lr=lr)
                last_snap = time.perf_counter()
                run.train_seconds += last_snap - t1
                run.train_cpu += time.thread_time() - c1
        validate = hooks.validate_every_epoch or epoch + 1 == c.epochs
        run.history.append(_validate(run, data, epoch, losses, correct / seen, lr, validate))
        run.epoch = epoch + 1 if epoch + 1 < c.epochs else epoch
        if hooks.epoch_done(run, dict(run.history[-1])) and epoch + 1 < c.epochs:
            hooks.snapshot(run)
            return "stopped"
    hooks.snapshot(run)
    return "finished"


class _Quiet(Hooks):
    snapshots = False


def train(dataset, spec, config: TrainConfig, *, validate_every_epoch: bool = True) -> Run:
    """One run of `spec` on `dataset` trained straight through in this thread, on one torch
    thread (a worker's default: the sums' order depends on the thread count, so the weights are
    the ones the Train page gets), without live snapshots; the finished Run. With
    validate_every_epoch=False only the last epoch is validated: the same weights and the same
    last record, sooner (what a check of the end result needs)."""
    config = config.validate()
    run = Run(spec, dataset.input_shape, dataset.classes, config)
    hooks = _Quiet()
    hooks.validate_every_epoch = validate_every_epoch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit(run, train_data(dataset, config), hooks)
    finally:
        torch.set_num_threads(threads)
    return run


def _validate(
    run: Run, data: TrainData, epoch: int, losses: list, train_acc, lr, validate: bool = True
) -> dict:
    """The record of a finished epoch, with the validation loss and accuracy (timed; None
    when there is no validation set or `validate` is False)."""
    t0 = time.perf_counter()
    y_val = np.asarray(data.y_val, dtype=np.int64)
    val_loss, val_acc = None, None
    if validate and len(y_val):
        val_loss, pred = predict(run.model, data.x_val, y_val)
        val_acc = float((pred == y_val).mean())
    run.val_seconds += time.perf_counter() - t0
    return {
        "epoch": epoch + 1,
        "train_loss": float(np.mean(losses)),
        "train_acc": train_acc,
        "val_loss": val_loss,
        "val_acc": val_acc,
        "lr": lr,
        "seconds": run.train_seconds + run.val_seconds,
        "train_seconds": run.train_seconds,
        "train_cpu_seconds": run.train_cpu,
        "batch_losses": losses,
    }
