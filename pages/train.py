"""Train a CNN: pick data, build a net, train it live and watch every layer learn; keep the model."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.ui import training as tr
from cnnviz.ui.common import run_safely

INTRO = (
    "Train a small convolutional network here, on this server's CPU, and watch it learn: the "
    "curves, what every layer sees in one image, the filters, and one weight's update. "
    "Pick the data, the architecture and the settings, then press **Start**."
)


def lesson_overfit() -> None:
    tr.set_settings(ntrain="50", aug=False, drop="0", wd=0.0, epochs=40, bs=16, opt="Adam",
                    lr=0.001, sched="constant")  # fmt: skip
    st.session_state["_autostart"] = True


def lesson_regularise() -> None:
    tr.set_settings(ntrain="50", aug=True, drop="0.5", wd=0.001, epochs=40, bs=16, opt="Adam",
                    lr=0.001, sched="constant")  # fmt: skip
    st.session_state["_autostart"] = True


def lesson_more_data() -> None:
    tr.set_settings(ntrain="all", aug=True, drop="0.3", wd=0.0001, epochs=5, bs=64, opt="Adam",
                    lr=0.001, sched="constant")  # fmt: skip
    st.session_state["_autostart"] = True


def overfit_lesson(has_dropout: bool) -> None:
    with st.expander("Lesson: overfit me (and then fix it)", icon=":material/school:"):
        st.markdown(
            "A net with many weights and few images learns the images by heart. Watch the two "
            "accuracy curves: **train** climbs to 100%, **validation** stops far below. The gap "
            "between them is overfitting."
        )
        a, b, c = st.columns(3)
        a.button("1. Overfit me", key="lesson_overfit", on_click=lesson_overfit,
                 icon=":material/trending_up:", width="stretch",
                 help="50 training images, no augmentation, no dropout, no L2, 40 epochs; "
                      "starts training.")  # fmt: skip
        b.button("2. Dropout + L2 + augmentation", key="lesson_reg", on_click=lesson_regularise,
                 icon=":material/compress:", width="stretch",
                 help="The same 50 images with dropout 0.5, weight decay 0.001 and random shifts.")  # fmt: skip
        c.button("3. More data", key="lesson_data", on_click=lesson_more_data,
                 icon=":material/dataset:", width="stretch",
                 help="All the training images: the best cure for overfitting.")  # fmt: skip
        st.caption(
            "Step 2 makes memorising harder: the curves come closer, train accuracy grows "
            "slower. Step 3 gives the net more to learn from: both curves end higher."
            + (
                ""
                if has_dropout
                else " Your architecture has no Dropout layer, so the dropout "
                "setting has nothing to change: add one in the editor (before the last Linear)."
            )
        )


def probe_picker(dataset) -> np.ndarray | None:
    """The image whose activations are shown: a test image by number, or the user's own."""
    n = len(dataset.y_test)
    if n == 0:
        return None
    left, right = st.columns([1, 3])
    with left:
        i = st.number_input(f"Sample to watch (test image 0-{n - 1})", 0, 100_000, 0,
                            key="sample", bind="query-params")  # fmt: skip
        i = int(min(i, n - 1))
        x = dataset.x_test[i]
        st.image(tr.sample_png(x), caption=f"test image {i}: {dataset.classes[dataset.y_test[i]]}")
    with right:
        own = st.file_uploader("…or your own image", type=None, key="probe_upload",
                               help="Resized to the data's size; shown only to you.")  # fmt: skip
        if own is not None:
            try:
                x = tr.image_as_input(own.getvalue(), dataset.input_shape)
                st.image(tr.sample_png(x), caption="your image, as the net sees it", width=120)
            except ValueError as err:
                st.error(str(err), icon=":material/block:")
    return x


def page() -> None:
    st.title("Train a CNN")
    st.write(INTRO)
    ts = tr.training_session()

    st.header("1. Data", divider="gray")
    from cnnviz.ui.data_picker import pick_dataset

    dataset = pick_dataset()
    if dataset is None:
        st.info("Pick a dataset above to go on.", icon=":material/info:")
        tr.checkpoint_section(ts, None)
        return

    st.header("2. Architecture", divider="gray")
    from cnnviz.ui.arch_editor import edit_architecture

    spec = edit_architecture(dataset.input_shape, dataset.n_classes)
    problem = tr.arch_problem(spec, dataset)

    st.header("3. Train", divider="gray")
    settings = tr.settings_form(dataset)
    config = tr.make_config(settings, dataset)
    overfit_lesson(tr.has_dropout(spec))
    probe = probe_picker(dataset)
    tr.follow_probe(ts, probe)
    if problem:
        st.caption("Start is off until the architecture above can be trained (see its red box).")
    if ts.trainer is not None and tr.settings_differ(ts, spec, dataset, config):
        st.caption("The settings above changed since this training started: press **Reset** "
                   "then **Start** to train with them.")  # fmt: skip
    if st.session_state.pop("_autostart", False) and not problem:
        tr.start_training(ts, dataset, spec, config, probe)
    if st.session_state.get("_train_error"):
        st.error(st.session_state["_train_error"], icon=":material/block:")
    tr.controls(ts, can_start=not problem, on_start=tr.start_training,
                start_args=(ts, dataset, spec, config, probe))  # fmt: skip
    tr.live_view(ts)

    if ts.status() in tr.DONE:
        st.header("4. Results", divider="gray")
        tr.results_section(ts)
    st.header("5. Keep the model", divider="gray")
    tr.checkpoint_section(ts, dataset, probe)


run_safely(page)
