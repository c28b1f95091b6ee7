"""Train a CNN: pick data, build a net, train it live and watch every layer learn; keep the model."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.inputs import image_as_input
from cnnviz.render.net import sample_png
from cnnviz.training.config import DONE
from cnnviz.ui.common import run_safely
from cnnviz.ui.data_picker import SOURCES as DATA_SOURCES
from cnnviz.ui.links import hideable, offstage
from cnnviz.ui.train.controls import ERROR_KEY, controls, follow_probe, safely, start_training
from cnnviz.ui.train.live import live_view
from cnnviz.ui.train.model_files import checkpoint_section
from cnnviz.ui.train.results import results_section
from cnnviz.ui.train.session import save_finished_run, training_session
from cnnviz.ui.train.settings import (
    arch_problem,
    set_settings,
    settings_differ,
    settings_form,
    summary_line,
    widget_values,
)

INTRO = (
    "Train a small convolutional network here, on this server's CPU, and watch it learn: the "
    "curves, what every layer sees in one image, the filters, and one weight's update. "
    "Pick the data, the architecture and the settings, then press **Start**."
)


@safely
def run_lesson_step(key: str) -> None:
    """Set the step's settings (and its Dropout layer) and start training."""
    from cnnviz import lessons

    s = lessons.step(key)
    if s.add_dropout:
        spec = st.query_params.get("arch")
        with_dropout = lessons.with_dropout(spec, s.settings.get("dropout") or 0.5)
        if with_dropout:
            st.query_params["arch"] = with_dropout  # the architecture editor follows the URL
    set_settings(**widget_values(s.settings))
    st.session_state["_autostart"] = True


def overfit_lesson(dataset) -> None:
    from cnnviz import lessons

    with st.expander("Lesson: overfit me, then fix it", icon=":material/school:"):
        st.caption("Each button sets the settings above and starts training.")
        for s in lessons.OVERFIT:
            st.button(
                s.label,
                key=s.key,
                on_click=run_lesson_step,
                args=(s.key,),
                icon=s.icon,
                width="stretch",
            )
            st.caption(f"{s.text} {lessons.measured_text(s, dataset.name)}".strip())


def probe_picker(dataset) -> np.ndarray | None:
    """The image whose activations are shown: a test image by number, or the user's own."""
    n = len(dataset.y_test)
    if n == 0:
        return None
    i = st.number_input(
        f"Sample to watch (test image 0–{n - 1})", 0, 100_000, 0, key="watch", bind="query-params"
    )
    i = int(min(i, n - 1))
    x = dataset.x_test[i]
    own = st.file_uploader(
        "…or your own image",
        type=None,
        key="probe_upload",
        max_upload_size=20,
        help="Resized to the data's size; seen only by you.",
    )
    if own is not None:
        try:
            x = image_as_input(own.getvalue(), dataset.input_shape)
        except ValueError as err:
            st.error(str(err), icon=":material/block:")
            return x
        st.image(sample_png(x), caption="your image, as the net sees it", width=96)
    else:
        st.image(
            sample_png(x),
            caption=f"test image {i}: {dataset.classes[dataset.y_test[i]]}",
            width=96,
        )
    return x


STEPS = ("Data", "Architecture", "Train", "Model files")
ARCH_SHOWN = "_arch_shown"  # was the Architecture step on the page in the last run?


@safely
def go_to(step: str) -> None:
    st.session_state["step"] = step


def next_button(step: str) -> None:
    st.button(
        f"Next: {step}",
        key=f"next_{step}",
        on_click=go_to,
        args=(step,),
        icon=":material/arrow_forward:",
        type="primary",
    )


def page() -> None:
    from cnnviz.ui.arch_editor import edit_architecture
    from cnnviz.ui.data_picker import pick_dataset

    st.title("Train a CNN")
    st.write(INTRO)
    ts = training_session()
    summary = st.empty()
    tabs = st.tabs(list(STEPS), key="step", bind="query-params")

    with tabs[0]:
        dataset = hideable("data", "data", pick_dataset, fmt=lambda ds: ds.name if ds else "none")
        if dataset is not None:
            next_button("Architecture")
    if dataset is None:
        for tab in tabs[1:3]:
            tab.info("Pick the data first (in **Data**).", icon=":material/info:")
        with tabs[3]:
            checkpoint_section(ts, None, drawn=tabs[3].open is not False)
        return

    # Closed, the Architecture step still runs (it gives the net) but leaves the page: its ~45
    # elements cost the browser 0.4 core-s per Train page load. Opening it reruns the page.
    arch_open = tabs[1].open is not False
    reshow = arch_open and st.session_state.get(ARCH_SHOWN) is False
    with tabs[1], offstage(not arch_open):
        spec = hideable(
            "arch",
            "architecture",
            lambda: edit_architecture(dataset.input_shape, dataset.n_classes, reshow=reshow),
        )
        next_button("Train")
    st.session_state[ARCH_SHOWN] = arch_open
    problem = arch_problem(spec, dataset)

    with tabs[2]:
        left, right = st.columns([1, 2.6], gap="medium")
        with left:
            config = settings_form(dataset)
            overfit_lesson(dataset)
            probe = probe_picker(dataset)
        follow_probe(ts, probe)
        if st.session_state.pop("_autostart", False) and not problem:
            start_training(ts, dataset, spec, config, probe)
        with right:
            if problem:
                st.warning(
                    "Start is off until the architecture can be trained: see the red "
                    "box in **Architecture**.",
                    icon=":material/block:",
                )
            if st.session_state.get(ERROR_KEY):
                st.error(st.session_state[ERROR_KEY], icon=":material/block:")
            if ts.trainer is not None and settings_differ(ts, spec, dataset, config):
                st.caption(
                    "The settings changed since this training started: **Reset**, then "
                    "**Start** to train with them."
                )
            controls(
                ts,
                can_start=not problem,
                on_start=start_training,
                start_args=(ts, dataset, spec, config, probe),
            )
            save_finished_run(ts)  # whichever step is open: runs/ keeps every finished run
            # Only the open step is drawn live: a student reading Architecture costs no ticks.
            if tabs[2].open is not False:
                live_view(ts)
                if ts.status() in DONE:
                    st.subheader("Results on the test images")
                    results_section(ts)

    with tabs[3]:
        checkpoint_section(ts, dataset, probe, drawn=tabs[3].open is not False)

    summary.caption(summary_line(ts, dataset, spec, config))


run_safely(page, url_labels={"data_src": DATA_SOURCES.get})
