"""What the net looks like inside while it trains, in tabs: activations, filters, histograms and
one weight's update rule. Pictures are made from one snapshot at most once per PICTURE_EVERY."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from cnnviz.arch import shape_text
from cnnviz.numbers import percent_text
from cnnviz.probe import layer_weights
from cnnviz.render.colormaps import Range, range_caption
from cnnviz.render.net import (
    filters_png,
    histogram_png,
    maps_png,
    matrix_png,
    sample_png,
)
from cnnviz.ui.common import show_bars, show_lines
from cnnviz.ui.train.controls import safely
from cnnviz.ui.train.session import STEP_TICK, TrainingSession
from cnnviz.ui.train.settings import OPT_LABELS

PICTURE_EVERY = 1.0  # seconds: while training, the pictures are made again at most this often


class _Pictures:
    """PNGs of the snapshot on screen. While training, a newer snapshot replaces it at most once
    per PICTURE_EVERY (the curves still move at every tick); unchanged PNG bytes keep their
    media URL, so the browser downloads nothing new."""

    def __init__(self) -> None:
        self.snap = None
        self.made: dict = {}
        self.when = 0.0

    def current(self, snap, training: bool):
        now = time.monotonic()
        if snap is not self.snap and (
            not training or self.snap is None or now - self.when >= PICTURE_EVERY
        ):
            self.snap, self.made, self.when = snap, {}, now
        return self.snap

    def get(self, key, compute):
        if key not in self.made:
            self.made[key] = compute()
        return self.made[key]


def _pics(ts: TrainingSession) -> _Pictures:
    return ts.cached(("pictures",), _Pictures)


def show_picture(title: str, picture: tuple[bytes, Range, str]) -> None:
    """A layer's picture: its title, the PNG, and its colour range (and what was left out)."""
    png, rng, note = picture
    st.markdown(title)
    st.image(png)
    st.caption(range_caption(rng) + (f" · {note}" if note else ""))


def show_activations(ts: TrainingSession, snap, classes) -> None:
    acts = snap.activations or []
    pics = _pics(ts)
    probs = snap.probs
    cols = st.columns(4)
    with cols[0]:
        st.markdown(f"**input** · {shape_text(np.shape(snap.probe))}")
        st.image(pics.get("probe", lambda: sample_png(snap.probe)), width=160)
        if probs is not None and len(probs) == len(classes):
            top = int(np.argmax(probs))
            st.caption(f"The net says **{classes[top]}** ({percent_text(probs[top], 2)} sure).")
    for i, a in enumerate(acts):
        with cols[(i + 1) % 4]:
            show_picture(
                f"**{a.index}. {a.name}** · {shape_text(a.shape)}",
                pics.get(("act", i), lambda a=a: maps_png(a.values)),
            )
    if probs is not None and len(probs) == len(classes) <= 30:
        with cols[(len(acts) + 1) % 4]:
            st.markdown("**softmax** · what the net says")
            show_bars(probs, classes, percent=True, title="probability", labels=False)


def show_filters(ts: TrainingSession, snap, model) -> None:
    pics = _pics(ts)
    first = snap.filters
    if first is not None:
        png, rng, note = pics.get("filters0", lambda: filters_png(first, rgb=True))
        f = first.shape
        st.markdown(f"**First convolution: {f[0]} filters of {shape_text(f[1:])}**")
        st.image(png)
        st.caption(
            (
                "each filter's RGB weights as a colour (grey = 0)"
                if f[1] == 3
                else range_caption(rng)
            )
            + (f" · {note}" if note else "")
        )
    weights = pics.get("weights", lambda: layer_weights(model))
    deeper = weights[1:] if first is not None and weights and weights[0][2].ndim == 4 else weights
    for idx, name, w in deeper:
        if w.ndim == 4:
            picture = pics.get(("filt", idx), lambda w=w: filters_png(w, 16, 16, 15))
            what = f"{w.shape[0]} filters (rows) × {w.shape[1]} input channels (columns)"
        else:
            picture = pics.get(("mat", idx), lambda w=w: matrix_png(w))
            what = f"{w.shape[0]} outputs (rows) × {w.shape[1]} inputs (columns)"
        show_picture(f"**{idx}. {name} weights** · {what}", picture)


def show_histograms(ts: TrainingSession, snap) -> None:
    stats = snap.stats or []
    if not stats:
        st.caption("This net has no weights.")
        return
    pics = _pics(ts)
    st.caption(
        "How many weights (blue) and gradients dL/dw (red) have each value, per layer. "
        "|g|/|w| says how big the gradient is next to the weights."
    )
    for i, s in enumerate(stats):
        row = st.columns([2, 3, 3])
        ratio = s.grad_to_weight
        row[0].markdown(
            f"**{s.index}. {s.name}**  \n{shape_text(s.shape)}"
            + (f"  \n|g|/|w| = {ratio:.2g}" if ratio is not None else "")
        )
        for col, h, color in (
            (row[1], s.weights, (31, 119, 180)),
            (row[2], s.grads, (214, 39, 40)),
        ):
            if h is None:
                col.caption("no gradient yet")
                continue
            col.image(
                pics.get(("hist", i, color), lambda h=h, k=color: histogram_png(h.counts, color=k))
            )
            col.caption(f"{h.min:.3g} … {h.max:.3g} · mean {h.mean:.2g} · std {h.std:.2g}")


OPT_WORDS = {
    "sgd": "Plain SGD moves the weight against its gradient, by lr times the gradient.",
    "momentum": "Momentum keeps a velocity v, a running sum of past gradients (each step "
    "shrunk by mu): the weight keeps moving the way it has been going.",
    "adam": "Adam keeps a running mean m and a running mean of squares v of the gradient: "
    "each weight's step is about lr in size, whatever the gradient's scale.",
}


@safely
def _follow(ts: TrainingSession, key: str) -> None:
    """Follow a random weight of the chosen parameter from the next step on."""
    t = ts.trainer
    name = st.session_state.get(key)
    params = {} if t is None else dict(t.model.named_parameters())
    if name not in params:
        return
    ts.follow_count += 1
    rng = np.random.default_rng(ts.follow_count)
    index = tuple(int(rng.integers(n)) for n in params[name].shape)
    t.set_highlight(name, index)
    ts.tick_until = time.monotonic() + STEP_TICK


def weight_picker(ts: TrainingSession, current: str | None) -> None:
    """Which weight the update rule follows: a parameter, and a random weight inside it."""
    t = ts.trainer
    names = [n for n, p in t.model.named_parameters() if n.endswith("weight")]
    if not names:
        return
    key = f"follow_{ts.generation}"
    if st.session_state.get(key) not in names:
        st.session_state[key] = current if current in names else names[0]
    a, b = st.columns([2, 1], vertical_alignment="bottom")
    a.selectbox(
        "Follow a weight of",
        names,
        key=key,
        on_change=_follow,
        args=(ts, key),
        help="state_dict names: '0.weight' is the first layer's weights.",
    )
    b.button(
        "Another weight",
        key="follow_other",
        on_click=_follow,
        args=(ts, key),
        icon=":material/shuffle:",
        width="stretch",
    )
    st.caption("The new weight shows from the next training step (while paused: **Step**).")


def show_update(ts: TrainingSession, snap) -> None:
    u = snap.update
    if ts.trainer is not None:
        weight_picker(ts, None if u is None else u.param)
    if u is None:
        st.caption(
            "No step has been recorded yet: the next snapshot of a training step shows "
            "it (while paused, press **Step**)."
        )
        return
    idx = ", ".join(str(i) for i in u.index)
    st.markdown(
        f"**One weight, `{u.param}[{idx}]`, at step {u.step}** "
        f"(layer {u.layer}, optimizer {OPT_LABELS.get(u.optimizer, u.optimizer)})"
    )
    st.write(OPT_WORDS.get(u.optimizer, ""))
    show_lines(u.rule, wrap=True)
    if u.optimizer != "sgd":
        plain = u.w_old - u.lr * u.g
        st.caption(
            f"Plain SGD would have written w_new = {u.w_old:.6g} − {u.lr:.3g} × "
            f"{u.g:.6g} = {plain:.6g}; {OPT_LABELS[u.optimizer]} wrote {u.w_new:.6g}."
        )
    if u.weight_decay:
        st.caption(
            f"Weight decay (L2) adds {u.weight_decay:g} × w to the gradient: it pulls "
            "every weight a little towards 0 at each step."
        )


VIEWS = ("Activations", "Filters", "Histograms", "Update rule")


def show_inside(ts: TrainingSession, trainer) -> None:
    """What the net looks like inside, in tabs; only the open tab is drawn."""
    snap = _pics(ts).current(trainer.snapshot(), trainer.status == "running")
    if snap is None:
        st.caption("The inside of the net appears with the first snapshot.")
        return
    tabs = st.tabs(list(VIEWS), key="view", bind="query-params")
    draw = (
        lambda: show_activations(ts, snap, trainer.classes),
        lambda: show_filters(ts, snap, trainer.model),
        lambda: show_histograms(ts, snap),
        lambda: show_update(ts, snap),
    )
    for tab, fn in zip(tabs, draw):
        with tab:
            if tab.open is not False:
                fn()
    st.caption(
        f"Snapshot at step {snap.step} (epoch {snap.epoch}, batch {snap.batch}), "
        f"{snap.time:.1f} s of training."
    )
