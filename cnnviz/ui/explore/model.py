"""The Explore page's model: the built-in pre-trained digits net (so the page works on first
open), the net trained in this session on Train, or one opened from an upload or a saved run.
Every model here belongs to this browser session (the built-in one is a fresh copy per session),
so hooks and gradients of one student never touch another's forward pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from cnnviz.ui.links import hideable

SOURCES = {
    "builtin": "Built-in digits net",
    "trained": "Trained on Train",
    "opened": "Open a model",
}
STATE = "_explore_builtin"  # session_state: this session's copy of the built-in net


@dataclass(eq=False)
class Explored:
    """The model on the page, what it expects and what it was trained on."""

    model: Any  # torch.nn.Module
    meta: dict
    source: str  # in words
    key: str  # names this model in caches: changes when the model (or its weights) change
    report: Any = None  # callable () -> TestReport | None, on the model's own test split
    cache: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.meta.get("input_shape", (1, 28, 28)))

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.meta.get("classes", [])]

    @property
    def dataset_name(self) -> str:
        return str(self.meta.get("dataset", "") or "")


def _builtin() -> Explored | None:
    from cnnviz.pretrained import PRETRAINED, pretrained

    if STATE not in st.session_state:
        with st.spinner("Making the built-in net (trained once on this server, ~5 s)…"):
            st.session_state[STATE] = pretrained("digits")
    model, meta = st.session_state[STATE]
    return Explored(model, meta, PRETRAINED["digits"], "builtin", _dataset_report(model, meta))


def _trained() -> Explored | None:
    ts = st.session_state.get("training")
    t = getattr(ts, "trainer", None)
    if t is None:
        st.info(
            "Nothing trained in this session yet: train a net on **Train a CNN** (even for a "
            "few seconds), then come back.",
            icon=":material/info:",
        )
        from cnnviz.ui.common import link_to
        from cnnviz.ui.nav import page_at

        link_to(page_at("pages/train.py"), "Train a CNN")
        return None
    model, meta = t.model, t.meta()
    steps = (meta.get("metrics") or {}).get("steps", 0)
    return Explored(
        model,
        meta,
        f"trained on Train a CNN ({meta.get('arch', '?')}, {steps} steps, {t.status})",
        f"trained-{ts.id}-{ts.generation}-{steps}",
        lambda: ts.cached(("report",), t.evaluate),
    )


def _opened() -> Explored | None:
    from cnnviz.ui.model_picker import opened_model, pick_model

    with st.container(border=True):
        pick_model()
    o = opened_model()
    if o is None:
        return None
    return Explored(o.model, o.meta, o.source, f"opened-{id(o)}", _dataset_report(o.model, o.meta))


def _dataset_report(model, meta: dict):
    """() -> the model's TestReport on its built-in dataset's test split (once per model), or
    None when its data are not built in (a user's zip)."""

    def report():
        ds = test_data(meta)
        if ds is None:
            return None
        key = ("_explore_report", id(model))
        if key not in st.session_state:
            from cnnviz.training.evaluate import evaluate_model

            try:
                st.session_state[key] = evaluate_model(model, ds)
            except (ValueError, RuntimeError):
                st.session_state[key] = None
        return st.session_state[key]

    return report


@st.cache_resource(show_spinner="Loading the test images…", max_entries=4)
def _builtin_data(name: str):
    from cnnviz.data import builtin

    return builtin(name)


def test_data(meta: dict):
    """The model's built-in dataset (shared, read-only), or None when it is not a built-in set
    or does not fit the model's input and classes."""
    from cnnviz.data.builtin import BUILTINS

    name = str(meta.get("dataset", "") or "")
    if name not in BUILTINS:
        return None
    ds = _builtin_data(name)
    fits = list(ds.input_shape) == list(meta.get("input_shape", [])) and [
        str(c) for c in ds.classes
    ] == [str(c) for c in meta.get("classes", [])]
    return ds if fits else None


def choose_model() -> Explored | None:
    """The source buttons and the model they give (None with a sentence saying what to do)."""
    source = hideable(
        "model",
        "model",
        lambda: st.segmented_control(
            "Model",
            list(SOURCES),
            default="builtin",
            format_func=SOURCES.get,
            key="model",
            bind="query-params",
        ),
        fmt=lambda v: SOURCES.get(v or "builtin"),
    )
    source = source or "builtin"
    try:
        return {"builtin": _builtin, "trained": _trained, "opened": _opened}[source]()
    except ValueError as err:  # a cache that cannot be used, a model that does not load
        st.error(str(err), icon=":material/block:")
        return None
