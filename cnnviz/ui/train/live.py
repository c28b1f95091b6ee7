"""The live view: status and progress, the curves and the inside of the net, redrawn by a
fragment while the training runs."""

from __future__ import annotations

import logging
import math

import streamlit as st

from cnnviz.numbers import percent, percent_text
from cnnviz.ui.train.charts import TARGET_ACC, curve_frames, curve_spec, passed_at
from cnnviz.ui.train.inside import show_inside
from cnnviz.ui.train.session import TrainingSession, button_state

log = logging.getLogger("cnnviz")


def fmt_wait(trainer) -> str:
    """The queue's estimated wait in words ("about 40 s", "about 2 min")."""
    s = trainer.queue_wait_s
    if s is None or not math.isfinite(s):
        return "the wait is being estimated"
    if s < 5:
        return "your turn is about now"
    if s < 90:
        return f"about {int(round(s / 5) * 5)} s"
    return f"about {int(round(s / 60))} min"


def fmt_eta(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "estimating time left"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


def show_status(trainer) -> None:
    """Status line: waiting place, failure as a red sentence, progress bar with numbers."""
    status = trainer.status
    if status == "waiting":
        pos = trainer.queue_position
        where = f"number {pos} in the queue" if pos else "in the queue"
        st.info(
            f"Waiting for a free place to train: you are {where}, {fmt_wait(trainer)}. The "
            "server trains a few models at a time so that each one stays fast.",
            icon=":material/hourglass_top:",
        )
    elif status == "failed":
        st.error(trainer.error or "Training failed.", icon=":material/error:")
    p = trainer.progress()
    words = {
        "new": "Not started",
        "waiting": "Waiting",
        "running": "Training",
        "paused": "Paused",
        "stopped": "Stopped",
        "finished": "Finished",
        "failed": "Failed",
    }.get(status, status)
    text = f"{words} · epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches}"
    if p.images_per_s:
        text += f" · {p.images_per_s:,.0f} images/s"
    if status == "running":
        text += f" · {fmt_eta(p.eta_s)}"
    st.progress(float(min(1.0, max(0.0, p.fraction))), text=text)


def show_curves(ts: TrainingSession, trainer) -> None:
    """Train (per batch) and validation (per epoch) loss and accuracy."""
    seen = ts.cached(("batches",), list)
    seen.extend(trainer.batch_history(since=len(seen)))
    history = trainer.history()
    loss, acc = curve_frames(seen, history, trainer.progress().batches)
    if loss is None:
        st.caption("The curves start with the first batch.")
        return
    epochs = trainer.config.epochs
    left, right = st.columns(2)
    with left:
        st.markdown("**Loss** (lower is better)")
        st.vega_lite_chart(loss, curve_spec("loss", epochs), width="stretch")
    with right:
        st.markdown("**Accuracy** (higher is better)")
        passed = passed_at(history)
        st.vega_lite_chart(acc, curve_spec("accuracy", epochs, passed=passed), width="stretch")
    if history and history[-1].get("val_acc") is not None:
        h = history[-1]
        gap = h["train_acc"] - h["val_acc"]
        when = passed_at(history)
        st.caption(
            f"Epoch {h['epoch']}: train accuracy {percent_text(h['train_acc'])}, validation "
            f"{percent_text(h['val_acc'])}."
            + (
                f" Validation passed {percent_text(TARGET_ACC)} at epoch {when} (the green line)."
                if when
                else ""
            )
        )
        if gap > 0.1:
            st.caption(
                f"Train accuracy is {percent(gap, 2)} percentage points above validation: the "
                "net is learning its training images by heart (overfitting)."
            )


def live_view(ts: TrainingSession) -> None:
    """Status, progress, curves and the inside of the net, redrawn by a fragment while the
    training runs (every TICK s; every WAIT_TICK s in the queue). When the status changes what
    the buttons allow or how often to redraw, one full rerun redraws the buttons and results
    and sets the new timer (the timer is fixed when the fragment is defined)."""
    every = ts.tick()
    # the buttons were drawn a moment ago: the worker may have paused or stopped since
    drawn_for = (ts.buttons_for or button_state(ts.status()), every)

    @st.fragment(run_every=every)
    def _live() -> None:
        t = ts.trainer
        if t is None:
            st.caption(
                "Press **Start** to train. The curves and the inside of the net appear "
                "here and change while it learns."
            )
            return
        try:
            show_status(t)
            show_curves(ts, t)
            show_inside(ts, t)
        except Exception:  # noqa: BLE001 - a timer rerun runs outside run_safely
            log.exception("live view failed")
            st.error(
                "The live view could not be drawn this time; it tries again at the next refresh.",
                icon=":material/warning:",
            )
        now = (button_state(t.status), ts.tick())
        if now != drawn_for and (every is not None or now[0] != drawn_for[0]):
            st.rerun(scope="app")

    _live()
