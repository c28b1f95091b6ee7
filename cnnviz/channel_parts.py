"""How one conv output channel is made, for the "click a channel" view.

For one image and one output channel `o` of a conv layer: the layer's input maps A_c, the kernel
slice W[o, c] for each input channel c the filter reads (one group's channels when groups > 1),
each partial map A_c ⋆ W[o, c] (cnnviz.ops, torch's stride, padding, dilation and padding mode),
the bias, their sum (= the layer's output channel, summed in the engine's documented order), then
what the next layers of an nn.Sequential do to that channel: batch norm, an activation, a pooling
(stopping after the first pooling or at any other layer).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cnnviz.arch import ACTIVATION_KINDS, module_kind
from cnnviz.attribution import as_image, conv_layer_names, evaluating, run
from cnnviz.ops import conv2d_partials, sum_partials

STAGE_KINDS = ("batchnorm", *ACTIVATION_KINDS, "maxpool", "avgpool", "gap")
POOL_KINDS = ("maxpool", "avgpool", "gap")


@dataclass
class ChannelParts:
    """One conv output channel taken apart (maps without the batch axis, float32)."""

    layer: str  # the conv's named_modules() name
    channel: int  # the output channel o
    input: np.ndarray  # (C_in, H, W) the layer's whole input
    in_channels: list[int]  # the input channels the filter reads, one per partial
    kernels: np.ndarray  # (len(in_channels), kH, kW) W[o, c] for each of them
    partials: np.ndarray  # (len(in_channels), H_out, W_out) A_c ⋆ W[o, c]
    bias: float  # 0.0 when the conv has no bias
    sum: np.ndarray  # (H_out, W_out) partials summed in order, plus the bias
    output: np.ndarray  # (H_out, W_out) torch's own output channel (equal to `sum`)
    stages: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # (name, kind, map)
    stride: tuple = (1, 1)
    padding: tuple | str = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    padding_mode: str = "zeros"


def _conv(model: nn.Module, layer: str) -> nn.Conv2d:
    m = dict(model.named_modules()).get(layer) if isinstance(layer, str) and layer else None
    if not isinstance(m, nn.Conv2d):
        convs = ", ".join(conv_layer_names(model)) or "none"
        what = "no layer" if m is None else f"a {type(m).__name__}, not a conv layer,"
        raise ValueError(f"The model has {what} named {layer!r}; its conv layers are: {convs}.")
    return m


def next_stages(model: nn.Module, layer: str) -> list[tuple[str, nn.Module]]:
    """The layers right after `layer` in its nn.Sequential that act on each channel alone (batch
    norm, activations, then one pooling), as (named_modules name, module)."""
    parent_name, _, own = layer.rpartition(".")
    parent = dict(model.named_modules()).get(parent_name)
    if not isinstance(parent, nn.Sequential):
        return []
    names = [name for name, _ in parent.named_children()]
    out = []
    for name in names[names.index(own) + 1 :]:
        m = parent.get_submodule(name)
        kind = module_kind(m)
        if kind not in STAGE_KINDS:
            break
        out.append((f"{parent_name}.{name}" if parent_name else name, m))
        if kind in POOL_KINDS:
            break
    return out


def channel_parts(model: nn.Module, x, layer: str, channel: int) -> ChannelParts:
    """Output channel `channel` of conv layer `layer` for one image x (C, H, W), taken apart (see
    ChannelParts). The model runs once in eval mode without gradients (its modes given back).
    ValueError with a sentence for a wrong input, a layer that is not a conv, a channel out of
    range."""
    conv = _conv(model, layer)
    n_out = conv.out_channels
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
        raise ValueError(f"The channel must be a whole number from 0 to {n_out - 1}.")
    if not 0 <= channel < n_out:
        raise ValueError(
            f"Layer {layer!r} has {n_out} output channels (0 to {n_out - 1}); there is no "
            f"channel {channel}."
        )
    stages = next_stages(model, layer)
    seen: dict[int, tuple] = {}
    watch = [conv, *(m for _, m in stages)]

    me = threading.get_ident()

    def hook(m, inputs, output):
        # the first call of the conv, then each stage's first call after it (a ReLU module
        # may be shared by several places of the net); not another session's run of the model
        if threading.get_ident() != me:
            return
        if (m is conv or id(conv) in seen) and id(m) not in seen:
            seen[id(m)] = (inputs[0].detach().clone(), output.detach().clone())

    handles = [m.register_forward_hook(hook) for m in watch]
    try:
        with evaluating(model), torch.no_grad():
            run(model, as_image(model, x))
    finally:
        for h in handles:
            h.remove()
    if id(conv) not in seen:
        raise ValueError(f"Layer {layer!r} does not run when the model does.")

    def numpy(t: torch.Tensor) -> np.ndarray:
        return t[0].to("cpu", torch.float32).numpy().copy()

    a, out = (numpy(t) for t in seen[id(conv)])
    per_group = conv.in_channels // conv.groups
    first = channel // (n_out // conv.groups) * per_group
    reads = list(range(first, first + per_group))
    w = conv.weight.detach().to("cpu", torch.float32).numpy()[channel : channel + 1]
    b = 0.0 if conv.bias is None else float(conv.bias.detach()[channel])
    parts = conv2d_partials(
        a[first : first + per_group],
        w,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        padding_mode=conv.padding_mode,
    )
    total = sum_partials(parts, np.array([b], dtype=np.float32))[0]
    return ChannelParts(
        layer=layer,
        channel=int(channel),
        input=a,
        in_channels=reads,
        kernels=w[0].copy(),
        partials=parts[0],
        bias=b,
        sum=total,
        output=out[channel],
        stages=[
            (name, module_kind(m), numpy(seen[id(m)][1])[channel])
            for name, m in stages
            if id(m) in seen
        ],
        stride=tuple(conv.stride),
        padding=conv.padding if isinstance(conv.padding, str) else tuple(conv.padding),
        dilation=tuple(conv.dilation),
        groups=conv.groups,
        padding_mode=conv.padding_mode,
    )
