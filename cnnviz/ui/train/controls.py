"""The buttons outside the live fragment (Start, Pause, Resume, Step, Stop, Reset) and their
callbacks; a refusal in any callback becomes a sentence on the page (safely)."""

from __future__ import annotations

import functools
import logging
import time

import numpy as np
import streamlit as st

from cnnviz.training.config import TrainConfig
from cnnviz.training.trainer import Trainer
from cnnviz.ui.train.session import LIVE, STEP_TICK, TICK, TrainingSession, button_state

log = logging.getLogger("cnnviz")

ERROR_KEY = "_train_error"  # a sentence from a callback, shown above the buttons


def safely(fn):
    """For button callbacks (they run before the page, outside run_safely): a refusal becomes
    a sentence on the page, anything else a short apology in the log's stead, never a
    traceback."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            st.session_state[ERROR_KEY] = str(err)
        except Exception:  # noqa: BLE001 - the classroom server must stay up
            log.exception("train page callback failed")
            st.session_state[ERROR_KEY] = "That did not work. Try again, or press Reset."

    return run


@safely
def _call(ts: TrainingSession, action: str) -> None:
    t = ts.trainer
    if t is None:
        return
    getattr(t, action)()
    if action == "pause":
        snap = t.snapshot()
        if snap is not None:  # a fresh snapshot of the paused state (set_probe asks for one)
            t.set_probe(snap.probe)
        ts.tick_until = time.monotonic() + STEP_TICK
    if action == "step_batch":
        ts.tick_until = time.monotonic() + STEP_TICK
    if action in ("resume", "start"):
        ts.tick_until = time.monotonic() + 2 * TICK


@safely
def _reset(ts: TrainingSession) -> None:
    st.session_state.pop(ERROR_KEY, None)
    ts.replace(None, None, None)


@safely
def start_training(
    ts: TrainingSession,
    dataset,
    spec: str,
    config: TrainConfig,
    probe=None,
    one_batch: bool = False,
) -> None:
    """A new Trainer for these data, architecture and settings, started (it may queue); with
    one_batch it trains a single batch and pauses. A refusal (impossible net, bad setting) is
    kept as a sentence the page shows."""
    st.session_state.pop(ERROR_KEY, None)
    trainer = Trainer(dataset, spec, config, probe=probe)  # ValueError: shown by @safely
    ts.replace(trainer, spec, dataset)
    ts.probe = probe
    if one_batch:
        trainer.step_batch()
        ts.tick_until = time.monotonic() + STEP_TICK
    else:
        trainer.start()
        ts.tick_until = time.monotonic() + 2 * TICK


@safely
def _step(ts: TrainingSession, on_start, start_args: tuple) -> None:
    """Step one batch: of the paused training, or of a new one that then waits paused."""
    if ts.status() == "paused":
        _call(ts, "step_batch")
    else:
        on_start(*start_args, one_batch=True)


def follow_probe(ts: TrainingSession, probe) -> None:
    """Show the activations of a newly chosen sample (the running Trainer takes it over)."""
    t = ts.trainer
    if t is None or probe is None:
        return
    old = ts.probe
    if old is not None and old.shape == probe.shape and np.array_equal(old, probe):
        return
    ts.probe = probe
    try:
        t.set_probe(probe)
    except ValueError:
        return
    ts.tick_until = time.monotonic() + STEP_TICK


def controls(ts: TrainingSession, can_start: bool, on_start, start_args: tuple = ()) -> None:
    """Start / Pause / Resume / Step one batch / Stop / Reset, each a callback button."""
    status = ts.status()
    ts.buttons_for = button_state(status)  # the live view reruns the page when this is outdated
    cols = st.columns(6)
    specs = [
        (
            "start",
            "Start",
            ":material/play_arrow:",
            on_start,
            start_args,
            can_start and status not in LIVE + ("paused",),
            "primary",
        ),
        ("pause", "Pause", ":material/pause:", _call, (ts, "pause"), status in LIVE, None),
        ("resume", "Resume", ":material/resume:", _call, (ts, "resume"), status == "paused", None),
        (
            "step",
            "Step",
            ":material/skip_next:",
            _step,
            (ts, on_start, start_args),
            status == "paused" or (can_start and status not in LIVE),
            None,
        ),
        (
            "stop",
            "Stop",
            ":material/stop:",
            _call,
            (ts, "stop"),
            status in LIVE + ("paused",),
            None,
        ),
        ("reset", "Reset", ":material/restart_alt:", _reset, (ts,), status != "none", None),
    ]
    tips = {
        "start": "Train from new random weights with the settings on the left.",
        "pause": "Stop after this batch and keep everything: look inside, then resume.",
        "resume": "Go on training from where it paused.",
        "step": "Train exactly one batch, then pause (from scratch: a new training's first batch).",
        "stop": "End the training; the model keeps what it learned (test it, download it).",
        "reset": "Forget this training (its saved run stays in Model files).",
    }
    for col, (key, label, icon, cb, args, enabled, kind) in zip(cols, specs):
        col.button(
            label,
            key=f"tr_{key}",
            icon=icon,
            on_click=cb,
            args=args,
            help=tips[key],
            disabled=not enabled,
            type=kind or "secondary",
            width="stretch",
        )
