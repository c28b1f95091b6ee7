"""What a filter wants (the Explore page): pick a conv layer and a channel, one button runs
activation maximisation (cnnviz.maximize.maximize_channel) with a progress bar, and the picture
is shown next to the channel's kernel. Pictures are kept in session_state per (the model's
weights, layer, channel)."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui.common import one_of, remember
from cnnviz.ui.explore.transfer import model_digest

_PICTURES = "_wants_pictures"  # session_state: (digest, layer, channel) -> (image, scores)
KEEP = 32  # pictures kept per session
SEED = 0


def _conv_layers(model, layer_names) -> dict[str, object]:
    """name -> Conv2d module, for the names given that are conv layers, in their order."""
    from torch import nn

    modules = dict(model.named_modules())
    return {n: modules[n] for n in layer_names if isinstance(modules.get(n), nn.Conv2d) and n != ""}


def _label(name: str, conv) -> str:
    k = "×".join(map(str, conv.kernel_size))
    return f"layer {name}: conv {k}, {conv.in_channels} → {conv.out_channels} channels"


def _run(model, layer: str, channel: int, input_shape):
    from cnnviz import maximize

    bar = st.progress(0.0, text="Climbing the gradient…")

    def tick(done: int, steps: int) -> None:
        if done % 8 == 0 or done == steps:
            bar.progress(done / steps, text=f"step {done} of {steps}")

    try:
        image = maximize.maximize_channel(
            model, layer, channel, input_shape, seed=SEED, on_step=tick
        )
        start = maximize.start_image(input_shape, seed=SEED)
        scores = (
            float(maximize.channel_activation(model, layer, channel, image)[0]),
            float(maximize.channel_activation(model, layer, channel, start)[0]),
        )
    except ValueError as err:
        bar.empty()
        st.error(str(err), icon=":material/block:")
        return None
    bar.empty()
    return image, scores


def _show(image, scores, conv, layer: str, channel: int, first: bool) -> None:
    from cnnviz.numbers import fmt
    from cnnviz.render.colormaps import range_caption
    from cnnviz.render.net import filters_png, sample_png

    got, start = scores
    left, right = st.columns(2)
    left.image(sample_png(image, min_side=196), output_format="PNG")
    left.caption(
        f"What channel {channel} of layer {layer} wants: its mean activation is {fmt(got)} for "
        f"this picture, {fmt(start)} for the random start it grew from."
    )
    w = conv.weight.detach().cpu().numpy()[channel : channel + 1]
    png, rng, note = filters_png(w)
    right.image(png, output_format="PNG")
    inputs = "its input channel" if w.shape[1] == 1 else f"each of its {w.shape[1]} input channels"
    right.caption(
        f"Its kernel: one {w.shape[2]}×{w.shape[3]} slice for {inputs} "
        f"({range_caption(rng)}{'; ' + note if note else ''})."
    )
    if first:
        st.caption(
            "A first-layer filter sees only a few pixels at a time, so the picture that raises "
            "its mean everywhere at once is one small pattern repeated, or plain; deeper layers "
            "see larger patches (their receptive field) and want strokes and textures."
        )
    if got <= 0 and start <= 0:
        st.caption(
            "This channel stays at or below 0 even for the picture grown for it: after the ReLU "
            "it is silent (a “dead” filter), so it wants nothing the net ever shows it."
        )


def filter_wants_section(model, input_shape, layer_names) -> None:
    """Pick a conv layer and a channel; a button synthesises the picture that excites it most."""
    convs = _conv_layers(model, layer_names)
    if not convs:
        st.caption("This net has no conv layer to look into.")
        return
    st.caption(
        "Start from faint noise and change the picture, step by step, in the direction that "
        "raises the channel's mean activation (gradient ascent on the input, the net fixed), "
        "with small random shifts, a little blur and decay so that the picture stays readable."
    )
    a, b = st.columns(2)
    layer = a.selectbox(
        "Conv layer", list(convs), key="wants_layer", format_func=lambda n: _label(n, convs[n])
    )
    layer = one_of(layer, convs, next(iter(convs)))  # another net: other layers
    conv = convs[layer]
    channel = b.number_input(
        "Channel", 0, conv.out_channels - 1, 0, step=1, key=f"wants_channel_{layer}"
    )
    channel = int(channel)
    key = (model_digest(model), layer, channel, tuple(int(s) for s in input_shape))
    pictures = st.session_state.setdefault(_PICTURES, {})
    if st.button("Find what it wants", key="wants_go", icon=":material/auto_fix_high:"):
        if key not in pictures:
            done = _run(model, layer, channel, input_shape)
            if done is None:
                return
            remember(pictures, key, done, KEEP)
    if key in pictures:
        _show(*pictures[key], conv, layer, channel, first=layer == next(iter(convs)))
