"""The famous nets: LeNet-5, AlexNet, VGG16 and ResNet-50 (cnnviz.arch.reference_model, random
weights, nothing downloaded) in the same layer table as the Train page, what each introduced,
and why ResNet-50 sees 427 pixels. Summarised on torch's "meta" device: shapes and counts without
allocating the weights; computed only when the section is opened, once per server."""

from __future__ import annotations

import streamlit as st

NAMES = {"lenet5": "LeNet-5", "alexnet": "AlexNet", "vgg16": "VGG16", "resnet50": "ResNet-50"}
INTRODUCED = {
    "lenet5": "**LeNet-5 (LeCun et al., 1998)** read handwritten ZIP codes and cheques: the "
    "pattern every CNN still follows, convolution → squashing → subsampling, twice, then fully "
    "connected layers, all trained end to end by backpropagation. Tiny by today's measure.",
    "alexnet": "**AlexNet (Krizhevsky, Sutskever, Hinton, 2012)** won ImageNet by a wide margin "
    "and started the deep-learning wave: the same recipe at scale (1.2 million photos, two "
    "GPUs), with **ReLU** instead of tanh (trains several times faster: no saturation for "
    "positive inputs) and **dropout** in the big fully connected layers (most of its 61 million "
    "parameters sit there) against overfitting.",
    "vgg16": "**VGG16 (Simonyan & Zisserman, 2014)** showed that depth matters, built from one "
    "brick: **stacks of 3 × 3 convolutions**. Two 3 × 3 layers see 5 × 5 pixels, three see "
    "7 × 7, with fewer weights than one big kernel (3·3·3 = 27 vs 49 per channel pair) and a "
    "ReLU between each. Simple and heavy: 138 million parameters.",
    "resnet50": "**ResNet-50 (He et al., 2015)** made very deep nets trainable with **residual "
    "connections**: each block outputs x + F(x), so it only has to learn a correction F, and "
    "the gradient reaches early layers through the identity path (d(x + F(x))/dx = 1 + F′(x)) "
    "instead of fading through 50 multiplications. 1 × 1 → 3 × 3 → 1 × 1 bottleneck blocks and "
    "batch norm keep it at 25.6 million parameters, fewer than AlexNet.",
}
# The growth of ResNet-50's receptive field, stage by stage: (what, pixels added, field after).
# Each k × k layer adds (k − 1) × jump, jump = the product of the strides before it.
RESNET_STEPS = (
    ("conv1, 7 × 7, stride 2", 7, 7),
    ("max pool 3 × 3 at jump 2", 4, 11),
    ("stage 1: three 3 × 3 convs at jump 4", 3 * 8, 35),
    ("stage 2: its first 3 × 3 (stride 2) at jump 4", 8, 43),
    ("then three more at jump 8", 3 * 16, 91),
    ("stage 3: its first 3 × 3 (stride 2) at jump 8", 16, 107),
    ("then five more at jump 16", 5 * 32, 267),
    ("stage 4: its first 3 × 3 (stride 2) at jump 16", 32, 299),
    ("then two more at jump 32", 2 * 64, 427),
)


@st.cache_resource(show_spinner="Summarising the net…", max_entries=4)
def summary(name: str):
    """The layer rows of a reference net (shared, read-only), built on the meta device."""
    from cnnviz import arch
    from cnnviz.arch.reference import INPUTS, reference_model

    return arch.summarize(reference_model(name, device="meta"), INPUTS[name][0])


def last_field(rows) -> int | None:
    """The receptive field of the last layer that still has maps (before global pooling or
    flattening widens it to the whole image)."""
    fields = [r.receptive_field for r in rows if r.kind not in ("gap", "flatten", "linear")]
    fields = [f if isinstance(f, int) else max(f) for f in fields if f is not None]
    return fields[-1] if fields else None


def why_427(rows) -> str:
    final = last_field(rows)
    steps = "; ".join(f"{what}: +{add} → {after}" for what, add, after in RESNET_STEPS)
    return (
        f"**Why ResNet-50's last stage sees {final} × {final} pixels.** A layer with a k × k "
        "kernel widens the field by (k − 1) × jump, where the jump is how far apart (in input "
        "pixels) two neighbouring cells of its input are, the product of every stride before "
        f"it. 1 × 1 convs add nothing. Along the path through every 3 × 3 conv: {steps}. The "
        "shortcut connections add nothing either: a unit sees the union of what its paths see, "
        "and the identity path sees less than the path through the block. 427 is more than the "
        "224-pixel photo: a unit near the middle sees the whole image, one at the edge partly "
        "sees the zero padding; in practice the pixels near the centre of the field count far "
        "more (the *effective* receptive field is much smaller)."
    )


def show_famous() -> None:
    from cnnviz import arch
    from cnnviz.arch.reference import INPUTS
    from cnnviz.ui.arch_editor.table import layer_table

    name = (
        st.segmented_control(
            "Net",
            list(NAMES),
            default="lenet5",
            format_func=NAMES.get,
            key="famous",
            bind="query-params",
        )
        or "lenet5"
    )
    rows = summary(name)
    t = arch.totals(rows)
    shape, n = INPUTS[name]
    field = last_field(rows)
    st.markdown(INTRODUCED[name])
    st.container(key="famous_totals").markdown(
        f"**{NAMES[name]}**: input {' × '.join(map(str, shape))}, {n} classes, "
        f"**{t['params']:,} parameters**, **{t['macs']:,} multiply-adds** per image; its last "
        f"maps see **{field} × {field} input pixels**."
    )
    layer_table(rows, shape, None)
    if name == "resnet50":
        st.container(key="why_427").markdown(why_427(rows))
