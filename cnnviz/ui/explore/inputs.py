"""The Explore page's input: a test example (the ones the model got wrong too), a drawing, an
upload or a camera picture; always shown as the model-sized image actually fed to the net."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.render.net import sample_png
from cnnviz.ui.common import one_of
from cnnviz.ui.explore.model import Explored, test_data
from cnnviz.ui.links import hideable

SOURCES = {"test": "Test example", "draw": "Draw", "upload": "Upload", "camera": "Camera"}
CANVAS = 224  # px: the drawing area (8 × 28)
PEN = 18  # px: the pen width on the canvas (about a 2-pixel stroke at 28 × 28, like the data)


@dataclass
class Fed:
    """The image the net gets (C, H, W) in [0, 1], where it came from, and its true class."""

    x: np.ndarray
    words: str
    label: int | None = None


def _digit_like(shape: tuple[int, ...]) -> bool:
    """A one-channel square input: pictures are centred and scaled like the digit sets."""
    return shape[0] == 1 and shape[1] == shape[2]


def _picture(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """A picture file (upload or camera) as the net's input; ValueError with a sentence.
    Digit-like inputs: the ink taken off its paper, centred and scaled like the digits."""
    from cnnviz.images import load_image
    from cnnviz.images.digit import fit_to_input
    from cnnviz.images.paper import as_digit_input, ink_from_paper

    if not _digit_like(shape):
        return fit_to_input(load_image(data, mode="rgb").array, shape)
    return as_digit_input(ink_from_paper(load_image(data, mode="gray").array), shape[1])


def _test_example(m: Explored) -> Fed | None:
    ds = test_data(m.meta)
    if ds is None:
        st.caption(
            "This model's test images are not on this server (it was trained on other data): "
            "draw, upload or use the camera."
        )
        return None
    n = len(ds.y_test)
    wrong = st.toggle("Only the ones it got wrong", key="wrong", bind="query-params")
    if wrong:
        report = m.report() if m.report else None
        missed = [] if report is None else [int(i) for i in report.misclassified]
        if not missed:
            st.caption("It got every test image right: nothing to show here.")
            return None
        i = st.selectbox(
            f"Test images it got wrong ({len(missed)} of {n})",
            missed,
            format_func=lambda j: (
                f"#{j}: a {ds.classes[ds.y_test[j]]} read as {ds.classes[report.predictions[j]]}"
            ),
            key="missed",
        )
        i = one_of(i, missed, missed[0])  # another net: another list of mistakes
    else:
        i = hideable(
            "ex",
            "test image",
            lambda: st.number_input(
                f"Test image (0–{n - 1})", 0, n - 1, 0, key="ex", bind="query-params"
            ),
        )
    i = int(i)
    label = int(ds.y_test[i])
    return Fed(
        np.asarray(ds.x_test[i], np.float32), f"test image {i}, a {ds.classes[label]}", label
    )


def _drawing(m: Explored) -> Fed | None:
    from cnnviz.ui.sketch import sketch_pad

    try:
        ink = sketch_pad("canvas", CANVAS, PEN)
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return None
    st.caption("Draw one digit; the result follows the moment you lift the pen (Clear wipes it).")
    if ink is None or ink.max() <= 0:
        st.caption("The canvas is empty: draw a digit.")
        return None
    from cnnviz.images.digit import fit_to_input

    if _digit_like(m.input_shape):
        from cnnviz.images.paper import as_digit_input

        return Fed(
            as_digit_input(ink, m.input_shape[1]),
            "your drawing, centred and scaled like the digits",
        )
    return Fed(fit_to_input(ink, m.input_shape), "your drawing, resized to the input")


def _file(m: Explored, camera: bool) -> Fed | None:
    if camera:
        f = st.camera_input("Take a picture of one digit", key="cam")
    else:
        f = st.file_uploader(
            "A picture of one digit (PNG, JPEG…)",
            type=None,
            key="up_digit",
            max_upload_size=20,
            help="Centred and scaled like the training images; seen only by you.",
        )
    if f is None:
        return None
    try:
        x = _picture(f.getvalue(), m.input_shape)
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return None
    return Fed(x, "your photo" if camera else f"your picture {f.name}")


def choose_input(m: Explored) -> Fed | None:
    """The source buttons, the chosen input's widgets, and the image to feed (None with a
    sentence)."""
    source = (
        hideable(
            "src",
            "input",
            lambda: st.segmented_control(
                "Input",
                list(SOURCES),
                default="test",
                format_func=SOURCES.get,
                key="src",
                bind="query-params",
            ),
            fmt=lambda v: SOURCES.get(v or "test"),
        )
        or "test"
    )
    fed = {
        "test": _test_example,
        "draw": _drawing,
        "upload": lambda m: _file(m, False),
        "camera": lambda m: _file(m, True),
    }[source](m)
    if fed is not None:
        if tuple(fed.x.shape) != m.input_shape:
            st.error(
                f"This picture became {fed.x.shape}, but the model takes {m.input_shape}.",
                icon=":material/block:",
            )
            return None
    return fed


def show_fed(fed: Fed) -> None:
    """The model-sized image the net got, as it got it."""
    shape = " × ".join(str(s) for s in fed.x.shape[1:])
    st.image(sample_png(fed.x), width=140)
    st.caption(f"Fed to the net ({shape}): {fed.words}.")
