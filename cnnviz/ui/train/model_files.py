"""The Model files step: this training's model to download (weights and description), and a
model to open (upload or saved run) and look at."""

from __future__ import annotations

import streamlit as st

from cnnviz.training.config import DONE
from cnnviz.ui.model_picker import model_downloads, pick_model
from cnnviz.ui.train.opened import opened_model_view
from cnnviz.ui.train.session import TrainingSession, trainer_meta


def download_buttons(ts: TrainingSession) -> None:
    """This training's two files (once it has trained a step and is paused or over)."""
    from cnnviz import checkpoint
    from cnnviz.runs import download_stem

    t = ts.trainer
    if t is None or t.status not in DONE + ("paused",) or t.progress().step == 0:
        st.caption("Train a model (or pause it) to download it.")
        return
    step = t.progress().step
    report = ts.cache.get((ts.generation, "report"))
    weights, meta_json = ts.cached(
        ("checkpoint", step, report is not None),
        lambda: checkpoint.save(t.model, trainer_meta(ts, report)),
    )
    model_downloads(weights, meta_json, download_stem(t.meta()), "dl")
    st.caption(
        f"Both files together reopen the model here (step {step}). The weights file holds "
        "numbers only (safetensors: no code), the JSON the architecture, data and "
        "metrics."
    )


def checkpoint_section(ts: TrainingSession, dataset, probe_x=None, drawn: bool = True) -> None:
    """Downloads, uploads, the runs/ list and the opened model. When the tab is not open only
    the uploaders are drawn (they keep their files); the rest costs nothing."""
    if drawn:
        st.markdown("**Download this training's model**")
        download_buttons(ts)
    opened = pick_model(drawn)
    if drawn and opened is not None:
        opened_model_view(opened, dataset, probe_x)
