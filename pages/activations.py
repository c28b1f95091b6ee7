"""Activations and softmax: the curves, a value you pick, and scores turned into probabilities."""

import numpy as np
import streamlit as st

import cnnviz
from cnnviz.figures.curves import curves_spec
from cnnviz.kernels import KernelError, parse_kernel
from cnnviz.ui.common import run_safely, show_bars, show_source
from cnnviz.ui.links import hideable
from cnnviz.ui.present import presentation_mode

CURVES = {
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "sigmoid": "Sigmoid",
    "tanh": "tanh",
    "gelu": "GELU",
}
DEFAULT_LOGITS = "2 1 0.1"


def activation(name: str, x: np.ndarray, slope: float) -> np.ndarray:
    return cnnviz.leaky_relu(x, slope) if name == "leaky_relu" else cnnviz.ACTIVATIONS[name](x)


def sides():
    """Settings beside the result; presenting: the result first, settings in one expander."""
    if presentation_mode():
        return st.expander("Settings", icon=":material/tune:"), st.container()
    return st.columns([1, 2], gap="large")


def curves_section() -> None:
    st.subheader("Activation functions")
    st.write(
        "An activation is applied to every number of a feature map on its own. ReLU keeps "
        "positives as they are (no upper limit) and turns negatives into 0; sigmoid squashes "
        "into (0, 1), tanh into (−1, 1)."
    )
    left, right = sides()
    with left:
        chosen = hideable(
            "fns",
            "functions",
            lambda: st.pills(
                "Functions",
                list(CURVES),
                format_func=CURVES.get,
                selection_mode="multi",
                default=["relu", "sigmoid", "tanh"],
                key="fns",
                bind="query-params",
            ),
            fmt=lambda v: ", ".join(CURVES[n] for n in v) or "none",
        )
        slope = hideable(
            "slope",
            "leaky ReLU slope",
            lambda: st.number_input(
                "Leaky ReLU slope", 0.0, 1.0, 0.1, 0.01, key="slope", bind="query-params"
            ),
        )
        x0 = hideable(
            "x",
            "x",
            lambda: st.number_input(
                "Try a value x", -20.0, 20.0, -2.0, 0.5, key="x", bind="query-params"
            ),
        )
        at_x0 = {CURVES[n]: activation(n, np.array([x0]), slope)[0] for n in chosen}
        rows = [f"| {name} | {y:.4f} |" for name, y in at_x0.items()]
        if rows:
            st.markdown(f"| f | f({x0:g}) |\n|---|---|\n" + "\n".join(rows))
    with right:
        x = np.linspace(-5, 5, 401)
        spec = curves_spec(x, {CURVES[n]: activation(n, x, slope) for n in chosen}, x0, at_x0)
        st.vega_lite_chart(spec, width="stretch", key="curves")


def softmax_section() -> None:
    st.subheader("Softmax and the loss")
    st.write(
        "The last layer gives one score (logit) per class. Softmax turns them into "
        "probabilities: p_i = e^(z_i / T) / Σ_j e^(z_j / T). Positive, adding up to 1, the "
        "largest score gets the largest share. The loss for the right class is −log p."
    )
    left, right = sides()
    with left:
        text = hideable(
            "logits",
            "scores",
            lambda: st.text_input(
                "Scores (logits), one per class", DEFAULT_LOGITS, key="logits", bind="query-params"
            ),
        )
        try:
            z = parse_kernel(text, max_size=20)
        except KernelError as err:
            st.error(f"{err} Showing {DEFAULT_LOGITS} instead.", icon=":material/block:")
            z = parse_kernel(DEFAULT_LOGITS)
        if z.shape[0] != 1:
            st.info("Scores go in one row; using the first row.", icon=":material/info:")
        z = z[0].astype(np.float64)
        temp = hideable(
            "t",
            "temperature",
            lambda: st.slider("Temperature T", 0.1, 5.0, 1.0, 0.1, key="t", bind="query-params"),
        )
        target = hideable(
            "target",
            "right class",
            lambda: st.number_input(
                "The right class", 0, len(z) - 1, 0, key="target", bind="query-params"
            ),
        )
    p = cnnviz.softmax(z / temp)
    loss = -cnnviz.log_softmax(z / temp)[target]
    with right:
        labels = [f"class {i}" for i in range(len(z))]
        show_bars(p, labels, highlight=int(target), percent=True, title="probabilities")
        shift = z.max() / temp
        terms = " + ".join(f"e^{v / temp - shift:.3g}" for v in z)
        st.markdown(
            f"p(class {target}) = e^{z[target] / temp - shift:.3g} / ({terms}) = "
            f"**{p[target]:.4f}**  \n"
            f"loss = −log p(class {target}) = **{loss:.4f}**"
        )
        st.caption(
            "Every score is shifted by the largest one first (the result is the same, and e^z "
            "cannot overflow)."
        )
    show_source(cnnviz.softmax, cnnviz.log_softmax, cnnviz.relu)


def page() -> None:
    st.title("Activations")
    curves_section()
    st.divider()
    softmax_section()


run_safely(page)
