"""`Trainer`: the app's handle on one training that runs in a worker process
(cnnviz.training.worker).

The page calls `start`, `pause`, `resume`, `step_batch`, `stop` (they return at once; the worker
acts within one batch) and reads `status`, `progress()`, `history()`, `batch_history()`,
`snapshot()`, `model` and `evaluate()`. A reader thread per training receives what the worker
sends (it sleeps in `recv`, so it costs the app's GIL almost nothing) into a local `Run` that
mirrors the worker's numbers and holds the latest weights it sent. Before the start and after
the end, snapshots of a new probe image are taken here from those weights.

If the worker dies (killed, out of memory), the training fails with a sentence, the weights of
its last snapshot stay, the gate slot is freed by the OS and the app goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

import numpy as np

from cnnviz.training import worker
from cnnviz.training.config import DONE, TrainConfig
from cnnviz.training.evaluate import TestReport, evaluate_model
from cnnviz.training.gate import GATE, Gate
from cnnviz.training.loop import SNAPSHOT_INTERVAL_S, train_data
from cnnviz.training.records import Progress, Snapshot
from cnnviz.training.run import Run
from cnnviz.training.schedule import batch_count

log = logging.getLogger("cnnviz.train")

PAUSE_HOLD_S = 30.0  # a paused trainer keeps its slot this long when others wait

DIED = (
    "The training process stopped unexpectedly (the server may be short of memory); the model "
    "keeps what it learned up to step {step}: test or download it below, or press Reset and "
    "Start to train again."
)


class Trainer:
    """One training run in its own worker process; see the module docstring."""

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
        self.pause_hold = float(PAUSE_HOLD_S)
        self.on_epoch = on_epoch  # called here as on_epoch(trainer, record); True stops
        # the model here: ArchError (a ValueError naming the layer) if the net cannot work
        self._run = Run(spec, self.input_shape, self.classes, self.config, probe=probe)
        if probe is None:
            self._run.probe = self._default_probe()
        n = len(dataset.y_train)
        n = min(n, self.config.n_train) if self.config.n_train else n
        bs = max(1, min(self.config.batch_size, n))
        self._run.batches_per_epoch = batch_count(n, bs) if n else 0  # the worker
        self._run.total_steps = self._run.batches_per_epoch * self.config.epochs  # re-counts

        self._cond = threading.Condition()  # guards the fields below and self._run's numbers
        self._model_lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._status = "new"
        self._error: str | None = None
        self._wanted = False  # a snapshot of a new probe image or highlight is wanted
        self._queue: tuple[int | None, float | None] = (None, None)
        self._slot: int | None = None
        self._state: dict | None = None  # the newest weights from the worker ...
        self._state_step = 0
        self._state_new = False  # ... not yet loaded into self._run.model
        self._data = None  # the arrays for the worker, until it asks for them
        self._conn = None
        self._proc = None
        self._reader: threading.Thread | None = None

    def _default_probe(self):
        """The first validation image (else the first training one), if it can be read."""
        try:
            return self._run.default_probe(self.dataset)
        except Exception:  # noqa: BLE001 - unreadable data fail at start, with a sentence
            return None

    # ---- controls: all return at once -------------------------------------------------------

    def start(self) -> None:
        """Queue for a slot and train; does nothing unless the status is "new"."""
        self._launch(paused=False, steps=0)

    def pause(self) -> None:
        """Pause at the end of the current batch."""
        if self.status not in DONE + ("new",):
            self._send("pause")

    def resume(self) -> None:
        status = self.status
        if status == "new":
            self._launch(paused=False, steps=0)
        elif status not in DONE:
            self._send("resume")

    def step_batch(self) -> None:
        """Train exactly one more batch, then pause. From "new": start paused and do one;
        while running: just pause after the current batch; when done: nothing."""
        status = self.status
        if status == "new":
            self._launch(paused=True, steps=1)
        elif status not in DONE:
            self._send("step")

    def stop(self) -> None:
        """Stop within one batch; the model keeps what it learned so far."""
        with self._cond:
            if self._status == "new":
                self._status = "stopped"
                self._cond.notify_all()
                return
            if self._status in DONE:
                return
        # Streamlit releases a closed tab's resources on its event loop: never wait there for
        # a pipe another thread is using (starting the worker, sending it the data)
        if self._send_lock.acquire(blocking=False):
            try:
                self._write(("stop",))
            finally:
                self._send_lock.release()
        else:
            threading.Thread(target=self._send, args=("stop",), daemon=True).start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end and its last words to arrive; True if so (or never
        started)."""
        t = self._reader
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def set_probe(self, image: np.ndarray) -> None:
        """Show activations for this (C, H, W) image from the next snapshot on."""
        x = self._run.check_probe(image)
        with self._cond:
            self._run.probe = x
            self._wanted = True
        self._send("probe", x[0].numpy())

    def set_highlight(self, param: str, index: tuple[int, ...]) -> None:
        """Follow this weight (state_dict name and index) in the update example."""
        with self._model_lock:
            hl = self._run.check_highlight(param, index)
        with self._cond:
            self._run.highlight = hl
            self._wanted = True
        self._send("highlight", *hl)

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
    def done(self) -> bool:
        return self.status in DONE

    @property
    def queue_position(self) -> int | None:
        """1 for the next to train, 2 behind it, ...; None when not waiting."""
        with self._cond:
            return self._queue[0] if self._status == "waiting" else None

    @property
    def queue_wait_s(self) -> float | None:
        """About how many seconds until this training may start (None: not known yet)."""
        with self._cond:
            return self._queue[1] if self._status == "waiting" else None

    @property
    def holds_slot(self) -> bool:
        with self._cond:
            return self._slot is not None

    @property
    def worker_pid(self) -> int | None:
        p = self._proc
        return None if p is None else p.pid

    def progress(self) -> Progress:
        with self._cond:
            return self._run.progress(done=self._status in DONE)

    def history(self) -> list[dict]:
        """Per finished epoch: epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds
        (training + validation so far), train_seconds (training only, snapshots included),
        train_cpu_seconds (the worker's CPU time in training: immune to other load),
        batch_losses (the loss of each of its batches)."""
        with self._cond:
            return [dict(h, batch_losses=list(h["batch_losses"])) for h in self._run.history]

    def batch_history(self, since: int = 0) -> list[dict]:
        """Per batch trained (including the epoch in progress): step, epoch, batch, loss, acc, lr.
        `since`: skip the first `since` entries (for incremental polling)."""
        with self._cond:
            return [dict(b) for b in self._run.batches[since:]]

    @property
    def snapshot_count(self) -> int:
        """Snapshots the worker has taken so far (the benchmark divides their cost by this)."""
        with self._cond:
            return self._run.snapshot_count

    def snapshot(self) -> Snapshot | None:
        """The latest live snapshot. Before start and after the end (when no worker refreshes
        it) a missing or outdated one (new probe image or highlight) is taken here and now."""
        with self._cond:
            snap, wanted = self._run.snapshot, self._wanted
            idle = self._status == "new" or (self._status in DONE and not self._reading())
        if idle and (snap is None or wanted):
            snap = self._local_snapshot()
        return snap

    @property
    def model(self):
        """The torch model here, with the newest weights the worker sent (at every snapshot,
        pause and end)."""
        with self._model_lock:
            with self._cond:
                state, self._state_new = (self._state if self._state_new else None), False
            if state is not None:
                self._run.load_state(state)
            return self._run.model

    def evaluate(self, split: str = "test") -> TestReport:
        """Accuracy, confusion matrix, per-class accuracy and misclassified indices on a split
        ("test", "val" or "train") of the newest weights."""
        with self._model_lock:
            return evaluate_model(self.model, self.dataset, split)

    def meta(self) -> dict:
        """What a checkpoint of this run records besides the weights."""
        with self._cond:
            meta = self._run.meta(self.dataset.name, self._status)
            if self._state is not None:
                meta["metrics"]["steps"] = self._state_step  # the weights' own step
        return meta

    # ---- the worker -----------------------------------------------------------------------------

    def _reading(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def _send(self, *msg) -> None:
        with self._send_lock:
            self._write(msg)

    def _write(self, msg: tuple) -> None:
        """Send with _send_lock held."""
        conn = self._conn
        if conn is None:
            return
        try:
            conn.send(msg)
        except (OSError, ValueError):
            pass  # the worker is gone: the reader reports it

    def _launch(self, paused: bool, steps: int) -> None:
        with self._send_lock:  # commands sent meanwhile wait for the pipe
            with self._cond:
                if self._status != "new":
                    return
                self._status = "waiting"
                probe = None if self._run.probe is None else self._run.probe[0].numpy()
                highlight = self._run.highlight
            try:
                self._data = train_data(self.dataset, self.config)
                with self._model_lock:
                    state = self._run.state()
                args = {
                    "spec": self.spec,
                    "input_shape": self.input_shape,
                    "classes": self.classes,
                    "config": self.config.to_dict(),
                    "probe": probe,
                    "state": state,
                    "highlight": highlight,
                    "snapshot_interval": self.snapshot_interval,
                    "max_running": self.gate.max_running,
                    "gate_dir": str(self.gate.directory),
                    "pause_hold": self.pause_hold,
                    "paused": paused,
                    "steps": steps,
                    "threads": self.threads,
                    "on_epoch": self.on_epoch is not None,
                }
                self._proc, self._conn = worker.launch(args)
            except Exception as e:  # noqa: BLE001 - unreadable data, no process: one sentence
                log.exception("could not start a training")
                self._data = None
                with self._cond:
                    self._status, self._error = "failed", worker.error_sentence(e)
                    self._cond.notify_all()
                return
            self._reader = threading.Thread(
                target=self._read, name="cnnviz-trainer-reader", daemon=True
            )
            self._reader.start()

    def _read(self) -> None:
        conn, proc = self._conn, self._proc
        try:
            while True:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    break
                try:
                    self._apply(msg)
                except Exception:  # noqa: BLE001 - one bad message must not end the mirror
                    log.exception("could not apply a message from the training worker")
        finally:
            proc.join(5)
            with self._send_lock:
                self._conn = None
                conn.close()
            self._proc = None
            with self._cond:
                self._data = None
                self._slot, self._queue = None, (None, None)
                if self._status not in DONE:
                    log.warning(
                        "training worker %s ended with exit code %s", proc.pid, proc.exitcode
                    )
                    self._status = "failed"
                    self._error = DIED.format(step=self._state_step)
                self._cond.notify_all()

    def _apply(self, msg: tuple) -> None:
        kind = msg[0]
        if kind == "need_data":
            data, self._data = self._data, None
            self._send("data", data)
            return
        with self._cond:
            run = self._run
            if kind == "status":
                if self._status not in DONE:
                    self._status = msg[1]
            elif kind == "queue":
                self._queue = (msg[1], msg[2])
            elif kind == "slot":
                self._slot = msg[1]
            elif kind == "batches":
                run.batches.extend(msg[1])
                self._mirror(msg[2])
            elif kind == "snap":
                snap, state = msg[1], msg[2]
                self._mirror(msg[3])
                run.snapshot = snap
                self._state, self._state_step, self._state_new = state, snap.step, True
                if run.probe is not None and np.array_equal(snap.probe, run.probe[0].numpy()):
                    self._wanted = False
            elif kind == "epoch":
                record, state = msg[1], msg[3]
                run.history.append(record)
                self._mirror(msg[2])
                if state is not None:
                    self._state, self._state_step, self._state_new = state, run.step, True
            elif kind == "end":
                self._mirror(msg[3])
                self._status, self._error = msg[1], msg[2]
                if msg[1] == "failed":
                    log.warning("training failed in the worker: %s", msg[2])
            self._cond.notify_all()
        if kind == "epoch" and msg[4]:
            try:
                stop = bool(self.on_epoch(self, dict(msg[1])))
            except Exception:  # noqa: BLE001
                log.exception("on_epoch failed")
                stop = False
            self._send("epoch_reply", stop)

    def _mirror(self, c: dict) -> None:
        run = self._run
        for k, v in c.items():
            if k == "recent":
                run.recent.clear()
                run.recent.extend(v)
            else:
                setattr(run, k, v)

    def _local_snapshot(self) -> Snapshot | None:
        """A snapshot taken here of the newest weights (before start, after the end)."""
        with self._model_lock:
            self.model  # noqa: B018 - loads the newest weights
            with self._cond:
                run, prev = self._run, self._run.snapshot
                if run.probe is None:
                    return prev
                self._wanted = False
            snap = run.take_snapshot(None)
            if prev is not None and prev.stats:  # the weights are the worker's last ones:
                snap = dataclasses.replace(snap, stats=prev.stats)  # keep their gradients
            with self._cond:
                run.snapshot = snap
            return snap
