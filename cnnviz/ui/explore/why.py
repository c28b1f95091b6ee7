"""The Explore page's "why did it say that?": Grad-CAM on a chosen conv layer and saliency, for
the predicted or a chosen class, as overlays on the input with an opacity slider, and one
sentence reading them."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.ui.explore.model import Explored
from cnnviz.ui.fragments import fragment

THIRDS = (("upper", "middle", "lower"), ("left", "centre", "right"))


def _place(heat: np.ndarray) -> str:
    """Where the weight of a map lies, in words ("upper right", "centre")."""
    h = np.asarray(heat, np.float64)
    if h.sum() <= 0:
        return ""
    rows, cols = np.indices(h.shape)
    r = float((rows * h).sum() / h.sum()) / max(1, h.shape[0] - 1)
    c = float((cols * h).sum() / h.sum()) / max(1, h.shape[1] - 1)
    v, u = THIRDS[0][min(2, int(r * 3))], THIRDS[1][min(2, int(c * 3))]
    if v == "middle" and u == "centre":
        return "centre"
    return u if v == "middle" else (v if u == "centre" else f"{v} {u}")


def _upsample(heat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour enlargement to the input's size (for the words, not the picture)."""
    h, w = heat.shape
    rows = np.minimum(np.arange(shape[0]) * h // shape[0], h - 1)
    cols = np.minimum(np.arange(shape[1]) * w // shape[1], w - 1)
    return heat[np.ix_(rows, cols)]


def _peak(heat: np.ndarray, x: np.ndarray) -> tuple[str, bool]:
    """Where a map (at the input's size) is strongest, in words, and whether ink (input above
    0.3) lies within a pixel of that spot."""
    r, c = np.unravel_index(int(np.argmax(heat)), heat.shape)
    ink = np.asarray(x).max(axis=0) > 0.3
    near = ink[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2].any()
    spot = np.zeros_like(heat)
    spot[r, c] = 1.0
    return _place(spot), bool(near)


def _spot_words(where: str, on_ink: bool) -> str:
    return f"the **{where}**, " + ("on a stroke" if on_ink else "where there is no ink")


def reading(name: str, layer: str, cam: np.ndarray, sal: np.ndarray, x: np.ndarray) -> str:
    """One sentence reading the two maps for class `name`."""
    size = x.shape[1:]
    if cam.max() <= 0:
        first = (
            f"Grad-CAM on {layer} finds no evidence *for* {name} (every weighted sum is ≤ 0): "
            "this layer's maps argue against it"
        )
    else:
        up = _upsample(cam, size)
        first = (
            f"Grad-CAM on {layer} finds the evidence for **{name}** mostly in the "
            f"**{_place(up)}**, strongest at {_spot_words(*_peak(up, x))}"
        )
    if sal.max() <= 0:
        return first + "."
    return (
        first + f"; saliency: the pixels that would change the {name} score most are in "
        f"{_spot_words(*_peak(sal, x))}."
    )


@fragment  # another layer, class or opacity reruns only this part
def show_why(m: Explored, x: np.ndarray, predicted: int) -> None:
    from cnnviz.attribution import conv_layer_names, grad_cam, saliency
    from cnnviz.render.overlay import overlay_png

    convs = conv_layer_names(m.model)
    if not convs:
        st.caption("This net has no convolution layer: Grad-CAM needs one.")
        return
    classes = m.classes or [str(i) for i in range(int(predicted) + 1)]
    a, b, c = st.columns(3)
    from cnnviz.arch import module_name

    modules = dict(m.model.named_modules())
    layer = a.selectbox(
        "Grad-CAM layer",
        convs,
        format_func=lambda n: f"{n}: {module_name(modules[n])}",
        index=len(convs) - 1,
        key="cam_layer",
        bind="query-params",
        help="The last conv layer has the most meaning and the coarsest map; the first the finest.",
    )
    choice = b.selectbox(
        "For the class",
        ["predicted", *classes],
        key="cam_class",
        format_func=lambda v: f"predicted ({classes[predicted]})" if v == "predicted" else v,
    )
    alpha = c.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="alpha", bind="query-params")
    target = predicted if choice == "predicted" else classes.index(choice)
    label = f"layer {layer} ({module_name(modules[layer])})"
    try:
        cam = grad_cam(m.model, x, layer, target)
        sal = saliency(m.model, x, target)
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return
    left, right = st.columns(2)
    norm = lambda h: h / h.max() if h.max() > 0 else h  # noqa: E731 - display only
    with left:
        st.image(overlay_png(x, norm(cam), alpha), width=224)
        st.caption(
            f"Grad-CAM, {label}: {cam.shape[0]} × {cam.shape[1]} map, enlarged. "
            "ReLU(Σₖ αₖ·Aₖ), αₖ = mean of ∂score/∂Aₖ."
        )
    with right:
        st.image(overlay_png(x, norm(sal), alpha), width=224)
        st.caption("Saliency: max over channels of |∂score/∂pixel|.")
    st.container(key="why_words").markdown(reading(classes[target], label, cam, sal, x))
