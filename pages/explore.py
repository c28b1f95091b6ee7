"""Explore a trained network: draw a digit (or pick a test image) and watch every layer respond,
see why the net decided, what a filter wants, reuse a net on new classes, meet the famous nets."""

from __future__ import annotations

import contextlib

import streamlit as st

from cnnviz.ui.common import run_safely, see_also
from cnnviz.ui.explore.inputs import SOURCES as INPUT_SOURCES
from cnnviz.ui.explore.inputs import choose_input, show_fed
from cnnviz.ui.explore.model import SOURCES as MODEL_SOURCES
from cnnviz.ui.explore.model import choose_model
from cnnviz.ui.present import presentation_mode, settings_box

INTRO = (
    "A trained net, opened up: give it a digit, read its answer and the softmax behind it, "
    "watch every layer respond, click a channel to see how it is made and a unit to see what "
    "it sees, and ask why it decided."
)


def lazy(label: str, key: str, icon: str):
    """An expander drawn only when opened (opening reruns the page): closed, it costs nothing."""
    box = st.expander(label, icon=icon, key=key, on_change="rerun", bind="query-params")
    return box if box.open else None


def later_sections(m) -> None:
    """What a filter wants and reusing the net (both need a model), the famous nets."""
    box = lazy("What a filter wants", "wants_open", ":material/auto_awesome:") if m else None
    if box is not None:
        with box:
            from cnnviz.attribution import conv_layer_names
            from cnnviz.ui.explore.wants import filter_wants_section

            filter_wants_section(m.model, m.input_shape, conv_layer_names(m.model))
    box = lazy("Reuse a trained net on new classes", "transfer_open", ":material/recycling:")
    if box is not None:
        with box:
            from cnnviz.ui.explore.transfer import transfer_section

            # the base: the built-in digits 0-4 net, or the model explored when it is another
            transfer_section(None if m is None or m.key == "builtin" else m)
    box = lazy("The famous nets", "famous_open", ":material/museum:")
    if box is not None:
        with box:
            from cnnviz.ui.explore.famous import show_famous

            show_famous()


def page() -> None:
    from cnnviz.ui.explore.overview import show_overview
    from cnnviz.ui.explore.prediction import show_prediction
    from cnnviz.ui.explore.why import show_why

    st.title("Explore a trained net")
    st.write(INTRO)
    present = presentation_mode()
    if present:  # the result first, the model and input in one collapsed expander
        result = st.container()
        chooser = settings_box("Model and input", sidebar=False)
        side = contextlib.nullcontext()
    else:
        side, result = st.columns([1, 1.4], gap="large")
        chooser = settings_box("Model and input", sidebar=False)
    with side, chooser:
        m = choose_model()
        fed = choose_input(m) if m is not None else None
        if fed is not None and not present:
            show_fed(fed)
    if m is None or fed is None:
        with result:
            st.info(
                "Pick a model and an input to see what the net answers.", icon=":material/info:"
            )
        later_sections(m)
        return
    with result:
        if present:  # the picture fed beside the answer: the chooser is folded away
            left, result = st.columns([1, 3])
            with left:
                show_fed(fed)
        with result:
            steps = show_prediction(m, fed.x, fed.label)
    if steps is None:
        return
    st.subheader("Every layer, input to output")
    show_overview(m, fed.x)
    st.subheader("Why it decided")
    show_why(m, fed.x, steps.top(1)[0][0])
    later_sections(m)
    see_also("pages/train.py", "pages/convolution.py", "pages/activations.py")


run_safely(page, url_labels={"model": MODEL_SOURCES.get, "src": INPUT_SOURCES.get})
