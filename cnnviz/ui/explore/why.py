"""The Explore page's "why did it say that?": Grad-CAM on a chosen conv layer and saliency, for
the predicted or a chosen class, as overlays on the input with an opacity slider, and one
sentence reading them."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.heat_words import reading
from cnnviz.ui.common import one_of
from cnnviz.ui.explore.model import Explored
from cnnviz.ui.fragments import fragment


def _label(name: str, modules: dict) -> str:
    """A layer as the overview numbers it ("4. conv16k3": a Sequential's layers from 1), else
    its module path and kind."""
    from cnnviz.arch import module_name

    kind = module_name(modules[name])
    return f"{int(name) + 1}. {kind}" if name.isdigit() else f"{name} ({kind})"


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

    modules = dict(m.model.named_modules())
    layer = a.selectbox(
        "Grad-CAM layer",
        convs,
        format_func=lambda n: _label(n, modules),
        index=len(convs) - 1,
        key="cam_layer",
        bind="query-params",
        help="The last conv layer has the most meaning and the coarsest map; the first the finest.",
    )
    # the label stays "the predicted class" whatever the net says: a label made of the answer
    # changes with the picture, and Streamlit then returns the old label as the choice
    options = ["predicted", *classes]
    choice = b.selectbox(
        "For the class",
        options,
        key="cam_class",
        format_func=lambda v: "the predicted class" if v == "predicted" else v,
    )
    choice = one_of(choice, options, "predicted")
    layer = one_of(layer, convs, convs[-1])  # labels made of another net's layers
    alpha = c.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="alpha", bind="query-params")
    target = predicted if choice == "predicted" else classes.index(choice)
    label = f"layer {_label(layer, modules)}"
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
