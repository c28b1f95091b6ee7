"""How one channel is made (the Explore page's channel detail): which input channels, convolved
with which kernel slices, summed, plus the bias, give this map; then the layers after it that act
on each channel alone (ReLU, pooling). Numbers from cnnviz.channel_parts."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.numbers import MINUS, fmt
from cnnviz.render.colormaps import range_caption, value_range
from cnnviz.render.net import grid_png
from cnnviz.ui.explore.model import Explored

SHOWN = 16  # input channels drawn; the sum always uses them all


def _conv_column(m: Explored, net, layer: int) -> int | None:
    """The conv column that made `layer`'s channels: itself, or the last conv before it when
    only per-channel layers (activations, batch norm, pooling) lie between."""
    from cnnviz.attribution import conv_layer_names

    convs = set(conv_layer_names(m.model))
    for c in range(layer, 0, -1):
        name = net.names[c]
        if name in convs:
            return c
        if name is None or np.ndim(net.columns[c][1]) != 3:
            return None
        if net.columns[c][1].shape[0] != net.columns[layer][1].shape[0]:
            return None
    return None


def _row(maps: np.ndarray, signed: bool | None, min_side: int) -> tuple[bytes, str]:
    rng = value_range(maps, signed=signed)
    return grid_png(maps, rng, len(maps), min_side=min_side, gap=6), range_caption(rng)


def show_channel(m: Explored, x: np.ndarray, net, layer: int, channel: int) -> None:
    from cnnviz.channel_parts import channel_parts

    title = net.columns[layer][0]
    st.markdown(f"#### How channel {channel} of {title} is made")
    conv = _conv_column(m, net, layer)
    if conv is None:
        st.caption("Only a convolution's channels (and the layers right after it) are taken apart.")
        return
    try:
        p = channel_parts(m.model, x, net.names[conv], int(channel))
    except ValueError as err:
        st.caption(str(err))
        return
    n = len(p.in_channels)
    shown = min(n, SHOWN)
    before = net.columns[conv - 1][0] if conv > 1 else "the input"
    st.container(key="channel_words").markdown(
        f"Channel {channel} of **{net.columns[conv][0]}** = Σ over its **{n} input channel"
        f"{'s' if n > 1 else ''}** (the maps out of {before}) of input channel c ⋆ kernel slice "
        f"W[{channel}, c], **plus the bias {fmt(p.bias, 4, MINUS)}**."
        + (f" The first {shown} of the {n} are drawn; the sum uses all {n}." if shown < n else "")
    )
    side = 84 if shown <= 4 else 56 if shown <= 8 else 36
    rows = (
        ("Input channels", p.input[p.in_channels[:shown]], None),
        (f"Kernel slices W[{channel}, c]", p.kernels[:shown], True),
        ("Partial maps: input channel ⋆ its kernel slice", p.partials[:shown], True),
    )
    for label, maps, signed in rows:
        png, words = _row(maps, signed, side)
        st.image(png, width=min(720, shown * (side + 6)))
        st.caption(f"{label} (c = {', '.join(map(str, p.in_channels[:shown]))}): {words}")
    chain = [("Sum of the partials + bias", p.sum)] + [
        (f"then {kind} ({name})", values) for name, kind, values in p.stages
    ]
    cols = st.columns(len(chain))
    for col, (label, values) in zip(cols, chain):
        png, words = _row(values[None], None, 112)
        col.image(png, width=112)
        col.caption(f"{label}: {' × '.join(map(str, values.shape))}, {words}")
    same = bool(np.allclose(p.sum, p.output, rtol=1e-4, atol=1e-5))
    st.caption(
        f"The sum equals PyTorch's own channel {channel}: **{'yes' if same else 'no'}** (largest "
        f"difference {fmt(float(np.abs(p.sum - p.output).max()), 2)})."
    )
