"""Home: the whole CNN pipeline on one picture, computed by the engine, each step one sentence."""

import numpy as np
import streamlit as st

from cnnviz.images import SAMPLES, sample_image
from cnnviz.pipeline import CLASSES, run_pipeline
from cnnviz.render.colormaps import colorize, range_caption, value_range
from cnnviz.render.png import map_grid
from cnnviz.ui.common import link_to, run_safely, show_bars, show_rgb
from cnnviz.ui.lesson_gallery import gallery
from cnnviz.ui.nav import page_for
from cnnviz.ui.present import settings_box

PHOTOS = ("cameraman", "cat", "coins", "checkerboard", "text", "rocket", "brick")
MISCONCEPTIONS = (
    (
        "A standard conv kernel spans every input channel",
        "On a colour image a 3×3 kernel is really 3×3×3: it multiplies the red, green and blue "
        "values under it and adds all 27 products (plus a bias) into one number. Filtering each "
        "channel on its own is a different layer: a depthwise convolution.",
    ),
    (
        "ReLU does not squash values into 0..1",
        "ReLU is max(0, x): it zeroes negatives and leaves positives as large as they are. "
        "Sigmoid squashes into (0, 1); tanh into (−1, 1).",
    ),
    (
        "Adam is an optimizer, not an activation",
        "Activations (ReLU, sigmoid, tanh) shape what a layer outputs. Optimizers (SGD, SGD with "
        "momentum, Adam) decide how the weights move after backpropagation computes the gradients.",
    ),
)


@st.cache_data(max_entries=len(PHOTOS))
def pipeline_for(sample: str):
    """Shared, read-only: keyed exactly by the sample name."""
    return run_pipeline(sample_image(sample, mode="gray", max_side=128).array)


def overview(stages) -> str:
    nodes = "\n".join(
        f'{s.key} [label="{s.title}\\n{"×".join(map(str, s.shape))}"];' for s in stages
    )
    chain = " -> ".join(s.key for s in stages)
    return (
        "digraph { rankdir=LR; bgcolor=transparent; "
        'node [shape=box, style="rounded,filled", fillcolor="#deebf7", fontname=Helvetica]; '
        f"{nodes} {chain}; }}"
    )


def picture(stage) -> None:
    out = stage.output
    if stage.key == "input":
        show_rgb(out[0])
    elif out.ndim == 3:
        grid, rng = map_grid(out, cols=2)
        show_rgb(grid, caption=range_caption(rng))
    elif stage.key == "flatten":
        width = 256
        strip = np.resize(out, (-(-out.size // width)) * width).reshape(-1, width)
        rng = value_range(strip)
        show_rgb(colorize(strip, rng=rng), caption=f"{out.size} numbers, {width} per row")
    else:
        show_bars(out, list(CLASSES), percent=stage.key == "softmax")


def home() -> None:
    st.title("cnnviz")
    st.markdown(
        "#### How a convolutional neural network turns pixels into a prediction, step by step, "
        "with real numbers."
    )
    st.caption(
        "Teaching? Ten ready-made lesson links, each opening a page in its lesson's "
        "state, are at the foot of this page."
    )
    with settings_box("Image", sidebar=False):
        sample = st.selectbox("Image", PHOTOS, key="sample", bind="query-params")
        st.caption(SAMPLES[sample])
    stages = pipeline_for(sample)
    st.graphviz_chart(overview(stages), width="stretch")
    for stage in stages:
        left, right = st.columns([1, 2], vertical_alignment="center")
        with left:
            picture(stage)
        with right:
            st.subheader(stage.title)
            st.caption("shape " + " × ".join(map(str, stage.shape)))
            st.write(stage.sentence)
            page = page_for(stage.key)
            if page:
                link_to(page, f"Try it: {page.title}")
        st.divider()
    st.subheader("Three common mix-ups")
    for title, text in MISCONCEPTIONS:
        st.info(f"**{title}.** {text}", icon=":material/lightbulb:")
    st.divider()
    gallery()


run_safely(home)
