"""The model opened on the Model files step: its description, first filters, what it sees in
the chosen sample, and its test results on the current data."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.arch import shape_text
from cnnviz.render.net import filters_png, maps_png
from cnnviz.ui.model_picker import OpenedModel, close_model, opened_report, run_downloads
from cnnviz.ui.train.inside import show_picture
from cnnviz.ui.train.results import show_report


def opened_model_view(opened: OpenedModel, dataset, probe_x) -> None:
    """The model opened from an upload or runs/: its description, filters, what it sees in the
    chosen sample, and its accuracy on the current data's test split when they fit."""
    from cnnviz import probe as probes

    model, meta = opened.model, opened.meta
    st.markdown(f"#### Opened: {opened.source}")
    st.button("Close", key="close_opened", icon=":material/close:", on_click=close_model)
    metrics = meta.get("metrics", {}) or {}
    st.markdown(
        f"Architecture `{meta.get('arch', '?')}` · data **{meta.get('dataset', '?')}** · input "
        f"{shape_text(meta.get('input_shape', ()))} · {len(meta.get('classes', []))} classes"
        + "".join(
            f" · {k.replace('_', ' ')} {v:.3g}"
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
    )
    if not opened.fits(dataset):
        st.caption(
            "Pick the data this model was trained on (same image size and classes) to "
            "see what it sees and test it."
        )
        return
    if opened.path:
        run_downloads(opened)
    key = ("pictures", hash(np.asarray(probe_x).tobytes()))
    if key not in opened.cache:  # computed once per sample, not at every rerun
        first = probes.first_filters(model)
        opened.cache[key] = (
            [(a, maps_png(a.values)) for a in probes.capture(model, probe_x)],
            None if first is None else (first.shape, filters_png(first, rgb=True)),
        )
    acts, filters = opened.cache[key]
    if filters is not None:
        shape, (png, rng, note) = filters
        st.markdown(f"**First convolution: {shape[0]} filters of {shape_text(shape[1:])}**")
        st.image(png)
    st.markdown("**What it sees in the chosen sample**")
    cols = st.columns(4)
    for i, (a, picture) in enumerate(acts):
        with cols[i % 4]:
            show_picture(f"**{a.index}. {a.name}** · {shape_text(a.shape)}", picture)
    report = opened_report(opened, dataset)
    if report is not None:
        show_report(report, dataset, key="cm_opened")
