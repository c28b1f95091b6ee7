"""The training worker: one process per training, started by `cnnviz.training.trainer.Trainer`.

The process waits in the machine-wide queue (cnnviz.training.gate), asks the app for the data
once it has a slot, runs the plain loop `fit` with itself as the hooks, and talks over one
duplex pipe:

- in (from the app): ("pause",) ("resume",) ("step",) ("stop",) ("probe", image)
  ("highlight", name, index) ("data", TrainData) ("epoch_reply", stop);
- out (to the app): ("status", status, step) ("queue", position, wait_s) ("slot", index|None)
  ("need_data",) ("batches", records, counters) ("snap", Snapshot, weights, counters)
  ("epoch", record, counters, weights|None, wants_reply) ("end", status, error, counters).

Commands are read between batches, so pause and stop take effect within one batch. Weights travel
as numpy state_dicts with each snapshot (at most 4 a second) and at every pause and end, so the app
can test, show and download the model without torch's loop in its own process.

Processes come from a fork server ("forkserver": a clean single-threaded process that imported
torch once, never a fork of the threaded web server): a new worker starts in tens of ms.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from multiprocessing import forkserver, spawn

import torch

from cnnviz.training.config import TrainConfig, TrainError
from cnnviz.training.gate import Gate
from cnnviz.training.loop import Hooks, fit
from cnnviz.training.run import Run

log = logging.getLogger("cnnviz.worker")

FLUSH_S = 0.02  # batch records go out at most this often (each batch when batches are slower)
PUBLISH_S = 1.0  # how often a slot holder tells waiting students how long it still needs
QUEUE_POLL_S = 0.2  # how often a waiting worker looks for a free slot
PAUSE_POLL_S = 0.25

# imported once by the fork server, so that no worker pays for them (torch._dynamo is what the
# first torch.optim optimizer imports: seconds on a busy server); the first lowers its priority
PRELOAD = ["cnnviz.training._worker_priority", "cnnviz.training.worker", "torch._dynamo"]

_lock = threading.Lock()
_configured = False


def context() -> multiprocessing.context.BaseContext:
    """The forkserver context; its server preloads this module (and so torch) once."""
    global _configured
    ctx = multiprocessing.get_context("forkserver")
    with _lock:
        if not _configured:
            ctx.set_forkserver_preload(PRELOAD)
            _configured = True
    return ctx


def warm() -> None:
    """Start this process's fork server now (it imports torch once, ~1-3 s), so that the first
    Start of the class is quick. Safe to call often; failures only cost that speed."""
    try:
        context()
        forkserver.ensure_running()
    except Exception:  # noqa: BLE001 - a cold start is slower, not broken
        log.warning("could not start the training fork server", exc_info=True)


def launch(args: dict):
    """A started worker process for `args` and the app's end of its pipe."""
    ctx = context()
    here, there = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=main, args=(there, args), name="cnnviz-trainer", daemon=True)
    try:
        with _lock, _without_parent_main():
            proc.start()
    finally:
        there.close()
    return proc, here


def start_process(target, args: tuple, name: str):
    """A started daemon process from the fork server running `target(*args)` (a module-level
    function): other jobs that want a clean process with torch loaded (the built-in nets)."""
    proc = context().Process(target=target, args=args, name=name, daemon=True)
    with _lock, _without_parent_main():
        proc.start()
    return proc


@contextlib.contextmanager
def _without_parent_main():
    """Start a worker without re-running the parent's `__main__` in it: the target lives in this
    module, and `__main__` is whatever ran last in the app process (under Streamlit a page script,
    under AppTest a temporary file that fails when run alone: NameError, the worker dead)."""
    prepare = spawn.get_preparation_data

    def without_main(name):
        data = prepare(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    spawn.get_preparation_data = without_main
    try:
        yield
    finally:
        spawn.get_preparation_data = prepare


class AppGone(Exception):
    """The app process closed its end of the pipe (it ended or was killed)."""


def main(conn, args: dict) -> None:
    """The worker process's entry point."""
    # Ctrl-C at the server's terminal reaches the whole process group: the server ends, which
    # closes the pipe, and the worker ends at its next look at it (no traceback per student).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(max(1, int(args.get("threads", 1))))
    try:
        Worker(conn, args).main()
    except AppGone:
        pass
    finally:
        conn.close()


def error_sentence(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if not isinstance(e, ValueError):
        msg = f"{type(e).__name__}: {msg}"
    return f"Training failed: {msg.rstrip('.')}."


def counters(run: Run) -> dict:
    """The run's numbers the app mirrors (progress, speed, timings)."""
    return {
        "step": run.step,
        "epoch": run.epoch,
        "batch": run.batch,
        "batches_per_epoch": run.batches_per_epoch,
        "total_steps": run.total_steps,
        "recent": list(run.recent),
        "val_seconds": run.val_seconds,
        "train_seconds": run.train_seconds,
        "train_cpu": run.train_cpu,
        "snapshot_count": run.snapshot_count,
    }


class Worker(Hooks):
    """Drives one Run from the pipe's commands; see the module docstring."""

    def __init__(self, conn, a: dict):
        self.conn = conn
        self.run = Run(
            a["spec"],
            a["input_shape"],
            a["classes"],
            TrainConfig.from_dict(a["config"]),
            probe=a.get("probe"),
        )
        self.run.load_state(a["state"])  # the app's initial weights, bit for bit
        if a.get("highlight"):
            self.run.highlight = tuple(a["highlight"][:1]) + (tuple(a["highlight"][1]),)
        self.snapshot_interval = float(a.get("snapshot_interval", self.snapshot_interval))
        self.gate = Gate(a["max_running"], a["gate_dir"])
        self.pause_hold = float(a["pause_hold"])
        self.wants_epoch_reply = bool(a.get("on_epoch"))
        self.paused = bool(a.get("paused"))
        self.steps_pending = int(a.get("steps", 0))
        self.stopping = False
        self.status = "waiting"
        self.slot = None
        self.data = None
        self.snapshot_wanted = False
        self.epoch_reply: bool | None = None
        self.pending: list[dict] = []
        self.last_flush = 0.0
        self.last_publish = 0.0

    # ---- the pipe -------------------------------------------------------------------------------

    def send(self, *msg) -> None:
        try:
            self.conn.send(msg)
        except (OSError, ValueError):
            raise AppGone from None

    def poll(self, timeout: float = 0.0) -> None:
        """Handle every command that arrives within `timeout` seconds (0: those waiting now)."""
        try:
            while self.conn.poll(timeout):
                self.handle(self.conn.recv())
                timeout = 0.0
        except (EOFError, OSError):
            raise AppGone from None

    def handle(self, msg: tuple) -> None:
        kind = msg[0]
        if kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused, self.steps_pending = False, 0
        elif kind == "step":
            self.paused = True
            if self.status in ("paused", "waiting"):
                self.steps_pending += 1
        elif kind == "stop":
            self.stopping = True
        elif kind == "probe":
            try:
                self.run.probe = self.run.check_probe(msg[1])
                self.snapshot_wanted = True
            except TrainError:
                pass
        elif kind == "highlight":
            self.run.highlight = (msg[1], tuple(msg[2]))
            self.snapshot_wanted = True
        elif kind == "data":
            self.data = msg[1]
        elif kind == "epoch_reply":
            self.epoch_reply = bool(msg[1])

    def set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.send("status", status, self.run.step)

    def flush(self) -> None:
        if self.pending:
            self.send("batches", self.pending, counters(self.run))
            self.pending = []
        self.last_flush = time.perf_counter()

    # ---- the run --------------------------------------------------------------------------------

    def main(self) -> None:
        outcome, error = "stopped", None
        try:
            if self.acquire():
                self.send("need_data")
                while self.data is None and not self.stopping:
                    self.poll(PAUSE_POLL_S)
                if self.data is not None:
                    data, self.data = self.data, None
                    outcome = fit(self.run, data, self)
        except AppGone:
            raise
        except Exception as e:  # noqa: BLE001 - a crash must reach its user, not the server
            log.exception("training failed")
            outcome, error = "failed", error_sentence(e)
        finally:
            if self.slot is not None:
                self.slot.close()
                self.slot = None
        self.flush()
        self.send("end", outcome, error, counters(self.run))

    def acquire(self) -> bool:
        """Wait in the machine-wide queue for a slot (status "waiting"); False if stopped."""
        self.set_status("waiting")
        ticket = self.gate.take_ticket()
        told, told_at = None, 0.0
        try:
            while True:
                self.poll()
                if self.stopping:
                    return False
                slot = self.gate.try_slot(ticket)
                if slot is not None:
                    self.slot = slot
                    self.send("slot", slot.index)
                    return True
                now = time.monotonic()
                pos = ticket.position()
                if pos != told or now - told_at >= 2.0:
                    wait = self.gate.wait_estimate(pos) if pos else None
                    self.send("queue", pos, wait)
                    told, told_at = pos, now
                self.poll(QUEUE_POLL_S)
        finally:
            ticket.close()

    def next_batch(self, run: Run) -> bool:
        """Between batches: honour pause, step and stop. True: train the next batch."""
        paused_since = None
        while True:
            self.poll()
            if self.stopping:
                return False
            if not (self.steps_pending > 0 or not self.paused):
                if self.status != "paused":
                    self.flush()
                    self.set_status("paused")
                    self.snapshot_wanted = True  # the weights as they are now, for the app
                    if self.slot is not None:  # a waiting student gets the slot after the hold
                        p = run.progress()
                        total = run.train_seconds + run.val_seconds + (p.eta_s or 0.0)
                        self.slot.publish(self.pause_hold, total)
                now = time.monotonic()
                paused_since = paused_since or now
                if self.snapshot_wanted:
                    self.snapshot(run)
                if (
                    self.slot is not None
                    and now - paused_since > self.pause_hold
                    and self.gate.waiting
                ):
                    self.slot.close()  # let a waiting student train; queue again on resume
                    self.slot = None
                    self.send("slot", None)
                self.poll(PAUSE_POLL_S)
                continue
            if self.slot is None:
                if not self.acquire():
                    return False
                continue  # paused again while queued: keep the slot and wait
            if self.steps_pending > 0:
                self.steps_pending -= 1
                self.set_status("paused")
            else:
                self.set_status("running")
            return True

    def snapshot_due(self, run: Run, now: float, last: float) -> bool:
        return (
            self.status == "paused" or self.snapshot_wanted or now - last >= self.snapshot_interval
        )

    def batch_done(self, run: Run, record: dict) -> None:
        self.pending.append(record)
        now = time.perf_counter()
        if now - self.last_flush >= FLUSH_S:
            self.flush()
        if self.slot is not None and now - self.last_publish >= PUBLISH_S:
            p = run.progress()
            if p.eta_s is not None:
                self.slot.publish(p.eta_s, run.train_seconds + run.val_seconds + p.eta_s)
            self.last_publish = now

    def epoch_done(self, run: Run, record: dict) -> bool:
        self.flush()
        state = run.state() if self.wants_epoch_reply else None
        self.send("epoch", record, counters(run), state, self.wants_epoch_reply)
        if not self.wants_epoch_reply:
            return False
        self.epoch_reply = None
        while self.epoch_reply is None and not self.stopping:
            self.poll(PAUSE_POLL_S)
        return bool(self.epoch_reply)

    def snapshot_taken(self, run: Run, snap) -> None:
        self.snapshot_wanted = False
        self.flush()
        self.send("snap", snap, run.state(), counters(run))
