"""Train a CNN: pick data, build a net, train it live and watch every layer learn; keep the model."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.ui import training as tr
from cnnviz.ui.common import run_safely
from cnnviz.ui.data_picker import SOURCES as DATA_SOURCES

INTRO = (
    "Train a small convolutional network here, on this server's CPU, and watch it learn: the "
    "curves, what every layer sees in one image, the filters, and one weight's update. "
    "Pick the data, the architecture and the settings, then press **Start**."
)


def widget_values(settings: dict) -> dict:
    """A lesson step's TrainConfig settings as the Train page's widget values (URL-bound)."""
    n = settings.get("n_train")
    p = settings.get("dropout")
    return dict(
        opt=tr.OPTIMIZER_LABELS[settings["optimizer"]],
        lr=settings["lr"],
        sched=settings["schedule"],
        bs=settings["batch_size"],
        epochs=settings["epochs"],
        wd=settings["weight_decay"],
        drop="as built" if p is None else f"{p:g}",
        aug=settings["augment"],
        seed=settings["seed"],
        ntrain="all" if n is None else str(n),
    )


@tr.safely
def run_lesson_step(key: str) -> None:
    """Set the step's settings (and its Dropout layer) and start training."""
    from cnnviz import lessons

    s = lessons.step(key)
    if s.add_dropout:
        spec = st.query_params.get("arch")
        with_dropout = lessons.with_dropout(spec, s.settings.get("dropout") or 0.5)
        if with_dropout:
            st.query_params["arch"] = with_dropout  # the architecture editor follows the URL
    tr.set_settings(**widget_values(s.settings))
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
            x = tr.image_as_input(own.getvalue(), dataset.input_shape)
        except ValueError as err:
            st.error(str(err), icon=":material/block:")
            return x
        st.image(tr.sample_png(x), caption="your image, as the net sees it", width=96)
    else:
        st.image(
            tr.sample_png(x),
            caption=f"test image {i}: {dataset.classes[dataset.y_test[i]]}",
            width=96,
        )
    return x


STEPS = ("Data", "Architecture", "Train", "Model files")


@tr.safely
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
    ts = tr.training_session()
    summary = st.empty()
    tabs = st.tabs(list(STEPS), key="step", bind="query-params")

    with tabs[0]:
        dataset = pick_dataset()
        if dataset is not None:
            next_button("Architecture")
    if dataset is None:
        for tab in tabs[1:3]:
            tab.info("Pick the data first (in **Data**).", icon=":material/info:")
        with tabs[3]:
            tr.checkpoint_section(ts, None, drawn=tabs[3].open is not False)
        return

    with tabs[1]:
        spec = edit_architecture(dataset.input_shape, dataset.n_classes)
        next_button("Train")
    problem = tr.arch_problem(spec, dataset)

    with tabs[2]:
        left, right = st.columns([1, 2.6], gap="medium")
        with left:
            settings = tr.settings_form(dataset)
            config = tr.make_config(settings, dataset)
            overfit_lesson(dataset)
            probe = probe_picker(dataset)
        tr.follow_probe(ts, probe)
        if st.session_state.pop("_autostart", False) and not problem:
            tr.start_training(ts, dataset, spec, config, probe)
        with right:
            if problem:
                st.warning(
                    "Start is off until the architecture can be trained: see the red "
                    "box in **Architecture**.",
                    icon=":material/block:",
                )
            if st.session_state.get(tr.ERROR_KEY):
                st.error(st.session_state[tr.ERROR_KEY], icon=":material/block:")
            if ts.trainer is not None and tr.settings_differ(ts, spec, dataset, config):
                st.caption(
                    "The settings changed since this training started: **Reset**, then "
                    "**Start** to train with them."
                )
            tr.controls(
                ts,
                can_start=not problem,
                on_start=tr.start_training,
                start_args=(ts, dataset, spec, config, probe),
            )
            tr.save_finished_run(ts)  # whichever step is open: runs/ keeps every finished run
            # Only the open step is drawn live: a student reading Architecture costs no ticks.
            if tabs[2].open is not False:
                tr.live_view(ts)
                if ts.status() in tr.DONE:
                    st.subheader("Results on the test images")
                    tr.results_section(ts)

    with tabs[3]:
        tr.checkpoint_section(ts, dataset, probe, drawn=tabs[3].open is not False)

    summary.caption(tr.summary_line(ts, dataset, spec, settings))


run_safely(page, url_labels={"data_src": DATA_SOURCES.get})
