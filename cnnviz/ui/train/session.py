"""One Trainer per browser session: who owns it, when its views redraw, its end with the tab, and
its finished run kept in runs/.

The Trainer (cnnviz.training.trainer) trains in a worker process and never touches Streamlit; this module
only reads what it mirrors. Per-user things live in st.session_state; the session-scoped
resource below exists so that closing the tab stops that user's training (its on_release fires
when the session ends).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

import numpy as np
import streamlit as st

from cnnviz.training.records import with_test_metrics
from cnnviz.ui.who import owner

log = logging.getLogger("cnnviz")

LIVE = ("waiting", "running")  # statuses whose numbers change by themselves
TICK = 0.5  # seconds between fragment redraws while a training runs (or just changed)
WAIT_TICK = 2.0  # ... while it waits in the queue: a class of waiting students stays cheap
STEP_TICK = 3.0  # after "Step one batch", keep redrawing this long (the step runs in the worker)
_ids = itertools.count(1)


class TrainingSession:
    """What one browser session trains: the current Trainer (or none yet) and what was computed
    from it. `generation` changes with every new Trainer so caches never mix two trainings."""

    def __init__(self) -> None:
        self.id = next(_ids)
        self.lock = threading.RLock()
        self.trainer: Any = None
        self.spec: str | None = None
        self.dataset: Any = None
        self.generation = 0
        self.tick_until = 0.0
        self.cache: dict = {}  # (generation, what, ...) -> computed value (PNG bytes, reports)
        self.saved: dict[int, str] = {}  # generation -> runs/ folder it was saved to
        self.probe: np.ndarray | None = None  # the image whose activations are shown
        self.buttons_for: str | None = None  # the button_state the control buttons were drawn for
        self.follow_count = 0  # "Another weight" presses: the seed of the next weight followed
        self.owner: str | None = None  # who trains here (cnnviz.ui.who.owner): its runs are theirs

    def replace(self, trainer, spec: str | None, dataset) -> None:
        with self.lock:
            self.stop()
            self.trainer, self.spec, self.dataset = trainer, spec, dataset
            self.generation += 1
            self.cache.clear()

    def stop(self) -> None:
        """Stop the current training (if any); what it learned stays readable."""
        t = self.trainer
        if t is not None:
            try:
                t.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort at session end
                pass

    def status(self) -> str:
        return "none" if self.trainer is None else str(self.trainer.status)

    def live(self) -> bool:
        return self.tick() is not None

    def tick(self) -> float | None:
        """Seconds between redraws of the live view now, or None: nothing changes by itself."""
        status = self.status()
        if status == "running" or time.monotonic() < self.tick_until:
            return TICK
        return WAIT_TICK if status == "waiting" else None

    def cached(self, key: tuple, compute):
        """compute() once per (generation, *key); the cache is dropped with the Trainer."""
        full = (self.generation, *key)
        if full not in self.cache:
            if len(self.cache) > 400:  # old snapshots' pictures
                self.cache.clear()
            self.cache[full] = compute()
        return self.cache[full]


class _Lease:
    """Held in a session-scoped resource: released (and the training stopped) when the session
    ends, e.g. the tab closes."""

    def __init__(self, ts: TrainingSession) -> None:
        self.ts = ts

    def release(self) -> None:
        self.ts.stop()
        try:  # a training that finished after the page last ran is still kept in runs/
            save_finished_run(self.ts)
        except Exception:  # noqa: BLE001 - releasing must not fail
            log.exception("could not save a run at session end")


def _warm_workers() -> None:
    """Start this app process's training fork server (it imports torch once, in its own process),
    so the first Start of the class does not wait for it."""
    from cnnviz.training import worker

    worker.warm()


@st.cache_resource(scope="session", on_release=lambda lease: lease.release(), show_spinner=False)
def _lease(session_key: int, _ts: TrainingSession) -> _Lease:
    return _Lease(_ts)


def training_session() -> TrainingSession:
    """This browser session's TrainingSession, kept in st.session_state["training"].

    A reconnecting session keeps its session_state but its session-scoped resources were
    released (its training stopped): the lease is taken again for the same TrainingSession, so
    the model and curves it had stay on screen.
    """
    ts = st.session_state.get("training")
    if not isinstance(ts, TrainingSession):
        ts = st.session_state["training"] = TrainingSession()
        _warm_workers()
    ts.owner = owner()
    _lease(ts.id, ts)
    return ts


def trainer_meta(ts: TrainingSession, report=None) -> dict:
    """The training's description for its checkpoint, with the test metrics when tested."""
    return with_test_metrics(ts.trainer.meta(), report)


def save_finished_run(ts: TrainingSession) -> str | None:
    """A finished training is written to runs/ once (with its test accuracy and its owner), so a server
    restart loses nothing; safe from any thread (the page's run, or the session's release when
    the tab closed before the page saw the end). Returns the folder ("" if it failed)."""
    from cnnviz import runs

    with ts.lock:
        t = ts.trainer
        if t is None or t.status != "finished" or ts.generation in ts.saved:
            return ts.saved.get(ts.generation)
        try:
            report = ts.cached(("report",), t.evaluate)
            meta = trainer_meta(ts, report)
            path = str(runs.save_run(runs.runs_dir(), t.model, meta, owner=ts.owner))
        except (OSError, ValueError):
            log.exception("could not save a finished run")
            path = ""
        ts.saved[ts.generation] = path
        return path


def button_state(status: str) -> str:
    """The part of a status the buttons outside the fragment depend on."""
    return "live" if status in LIVE else status
