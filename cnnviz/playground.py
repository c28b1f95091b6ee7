"""The convolution playground's whole computation: image -> conv -> activation -> pooling.

One function, `run`, so a notebook gets every map the page draws, and the tests can compare the
chain with torch in one place. Three ways to treat colour (the page explains each):

- "gray": the image as one channel (Pillow's luminance weights), one kernel, one map per filter;
- "depthwise": each 2-D kernel on R, G and B separately (groups=3): three maps per filter,
  ordered as torch orders them, colour by colour (map c*k + j = colour c with filter j);
- "rgb": one kernel of depth 3 per filter (its slices are the 2-D kernel times a weight per
  channel); each filter's three partial maps are summed, plus the bias, into one map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz import ops
from cnnviz.images import decode
from cnnviz.shapes import OutputSize, SettingError, output_size, pair, resolve_conv_padding

CHANNEL_MODES = {
    "gray": "Grayscale",
    "depthwise": "Per channel (depthwise)",
    "rgb": "True RGB convolution",
}
POOLS = ("none", "max", "avg")
LUMA = decode.LUMA.astype(np.float32)  # Pillow's "L" weights, in the maps' float32
CHANNEL_NAMES = ("R", "G", "B")


@dataclass(frozen=True, eq=False)
class Settings:
    """What the user set. `filters` are 2-D kernels (the first one is the user's own)."""

    filters: tuple[np.ndarray, ...]
    channels: str = "gray"
    channel_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # rgb mode: slice multipliers
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] | str = (0, 0)
    padding_mode: str = "zeros"
    dilation: tuple[int, int] = (1, 1)
    bias: float = 0.0
    activation: str = "none"
    slope: float = 0.01
    pool: str = "none"
    pool_size: int = 2
    pool_stride: int = 2


@dataclass(frozen=True, eq=False)
class Result:
    input: np.ndarray  # (C, H, W) float32: what the kernel slides over
    weight: np.ndarray  # (O, C/groups, kH, kW)
    bias: np.ndarray  # (O,)
    groups: int
    padded: np.ndarray  # (C, H + top + bottom, W + left + right): the input with its padding
    pads: tuple[int, int, int, int]  # (top, bottom, left, right)
    conv_size: OutputSize
    feature: np.ndarray  # (O, H_out, W_out) conv output (bias included)
    partials: np.ndarray | None  # rgb mode: (O, 3, H_out, W_out), summed + bias = feature
    activated: np.ndarray  # activation(feature); the feature map itself when activation is none
    pool_size: OutputSize | None
    pooled: np.ndarray | None


def as_input(image: np.ndarray, channels: str) -> np.ndarray:
    """(H, W, 3) or (H, W) floats -> (C, H, W) float32: one luminance channel or R, G, B."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if channels == "gray":
        return (img @ LUMA)[None]
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def weights(s: Settings, in_channels: int) -> tuple[np.ndarray, int]:
    """The weight tensor and groups torch would use for these settings."""
    shapes = {np.shape(f) for f in s.filters}
    if len(shapes) != 1:
        raise ValueError(f"all filters must have the same size, got {sorted(shapes)}")
    k = np.stack([np.asarray(f, dtype=np.float32) for f in s.filters])  # (O, kH, kW)
    if s.channels == "depthwise":
        # groups=C gives each input channel its own consecutive block of O output channels:
        # output c*O + j is channel c with filter j, so the filters repeat once per channel
        return np.tile(k[:, None], (in_channels, 1, 1, 1)), in_channels
    if s.channels == "rgb":
        slices = np.asarray(s.channel_weights, dtype=np.float32)[None, :, None, None]
        return (k[:, None] * slices).astype(np.float32), 1
    return k[:, None], 1


def map_sources(s: Settings, in_channels: int) -> list[tuple[int | None, int]]:
    """For each output map, in order: (the input channel it reads, or None when it sums all of
    them; the index of its filter in `s.filters`). Depthwise maps come colour by colour."""
    if s.channels == "depthwise":
        return [(c, j) for c in range(in_channels) for j in range(len(s.filters))]
    return [(None, j) for j in range(len(s.filters))]


def map_labels(s: Settings, in_channels: int, filter_names: list[str]) -> list[str]:
    """A caption per output map: its filter's name, and in depthwise mode its colour too
    ("G × sobel x"). `filter_names[j]` names `s.filters[j]`."""
    names = CHANNEL_NAMES if in_channels == 3 else tuple(f"channel {c + 1}" for c in range(9))
    return [
        filter_names[j] if c is None else f"{names[c]} × {filter_names[j]}"
        for c, j in map_sources(s, in_channels)
    ]


def activate(x: np.ndarray, name: str, slope: float = 0.01) -> np.ndarray:
    if name == "none":
        return x
    if name == "leaky_relu":
        return ops.leaky_relu(x, slope)
    return ops.ACTIVATIONS[name](x)


def run(image: np.ndarray, s: Settings) -> Result:
    """Every map of the playground; SettingError (with fixes) when a size cannot work."""
    x = as_input(image, s.channels)
    w, groups = weights(s, x.shape[0])
    b = np.full(w.shape[0], s.bias, dtype=np.float32)
    kernel = w.shape[-2:]
    size = output_size(
        x.shape[1:], kernel, s.stride, s.padding, s.dilation, padding_mode=s.padding_mode
    )
    (pt, pb), (pl, pr) = resolve_conv_padding(s.padding, kernel, s.stride, s.dilation)
    padded = ops.pad2d(x, (pt, pb, pl, pr), s.padding_mode)
    args = (s.stride, s.padding, s.dilation, groups, s.padding_mode)
    partials = None
    if s.channels == "rgb":
        partials = ops.conv2d_partials(x, w, *args)
        feature = ops.sum_partials(partials, b)
    else:
        feature = ops.conv2d(x, w, b, *args)
    activated = activate(feature, s.activation, s.slope)
    pool_size = pooled = None
    if s.pool != "none":
        pool_size = output_size(activated.shape[1:], s.pool_size, s.pool_stride, op="pool")
        fn = ops.max_pool2d if s.pool == "max" else ops.avg_pool2d
        pooled = fn(activated, s.pool_size, s.pool_stride)
    return Result(
        x,
        w,
        b,
        groups,
        padded,
        (pt, pb, pl, pr),
        size,
        feature,
        partials,
        activated,
        pool_size,
        pooled,
    )


def torch_code(s: Settings, in_channels: int) -> str:
    """PyTorch that computes the same feature maps: the layer, and the functional call with the
    weights set here (`x` is the (1, C, H, W) input, `weight`/`bias` this page's tensors; in
    depthwise mode the code builds `weight` from `filters`, the list of 2-D kernels)."""
    from cnnviz.codegen import layer_code

    w, groups = weights(s, in_channels)
    w_shape = w.shape
    kernel = tuple(w_shape[-2:])
    layer = layer_code(
        "conv",
        kernel,
        s.stride,
        s.padding,
        s.dilation,
        in_channels=in_channels,
        out_channels=w_shape[0],
        padding_mode=s.padding_mode,
    )
    if groups > 1:
        layer = layer[:-1] + f", groups={groups})"
    lines = [f"layer = {layer}", "", "# the same, with the weights and bias set on this page:"]
    if s.channels == "depthwise":
        n = len(s.filters)
        lines += [
            f"# groups={groups}: output channels come in {groups} blocks of {n}, one block per "
            f"input channel;",
            f"# output channel c*{n} + j = input channel c with filter j",
            "# (filters: your kernel, then the extra filters, each a (kH, kW) tensor)",
            f"weight = torch.stack(filters).unsqueeze(1).repeat({groups}, 1, 1, 1)"
            f"  # {tuple(w_shape)}",
        ]
    (pt, pb), (pl, pr) = resolve_conv_padding(s.padding, kernel, s.stride, s.dilation)
    padding = (pt, pl) if s.padding == "full" else s.padding  # torch has no "full": numbers
    if s.padding_mode != "zeros":  # F.conv2d only pads with zeros: pad first, as nn.Conv2d does
        lines.append(f"x = F.pad(x, ({pl}, {pr}, {pt}, {pb}), mode={s.padding_mode!r})")
        padding = (0, 0)
    args = ["x", "weight", "bias"]
    if pair(s.stride, "stride") != (1, 1):
        args.append(f"stride={_arg(s.stride)}")
    if padding != (0, 0):
        args.append(f"padding={_arg(padding)}")
    if pair(s.dilation, "dilation") != (1, 1):
        args.append(f"dilation={_arg(s.dilation)}")
    if groups > 1:
        args.append(f"groups={groups}")
    lines.append(f"y = F.conv2d({', '.join(args)})")
    return "\n".join(lines)


def _arg(value) -> str:
    if isinstance(value, str):
        return repr(value)
    h, w = pair(value, "value", minimum=0)
    return str(h) if h == w else f"({h}, {w})"


# ------------------------------------------------------------------ fixes for the whole chain


@dataclass(frozen=True)
class ChainFix:
    """Settings that make the whole chain (convolution, then pooling) work: `changes` are
    `Settings` field names with their new values, to apply together."""

    text: str
    changes: tuple[tuple[str, object], ...]


# engine (torch) argument names -> Settings fields, per stage; absent: the page has no control
_CONV_FIELDS = {
    "padding": "padding",
    "stride": "stride",
    "dilation": "dilation",
    "padding_mode": "padding_mode",
}
_POOL_FIELDS = {"kernel_size": "pool_size", "stride": "pool_stride"}
_PAIRS = ("stride", "padding", "dilation")


def check_sizes(shape: tuple[int, int], kernel: tuple[int, int], s: Settings) -> None:
    """Raise the chain's first SettingError for an (H, W) input, without computing a map."""
    conv = output_size(shape, kernel, s.stride, s.padding, s.dilation, padding_mode=s.padding_mode)
    if s.pool != "none":
        output_size(conv.size, s.pool_size, s.pool_stride, op="pool")


def _stage(shape, kernel, s: Settings) -> str | None:
    """The stage of the chain that fails ("conv" or "pool"; the refusal names it), or None."""
    try:
        check_sizes(shape, kernel, s)
    except SettingError as err:
        return "pool" if err.op == "pool" else "conv"
    return None


def _apply(s: Settings, field_name: str, value, axis: str) -> Settings:
    """`s` with one field changed; for a (height, width) field, only the fix's axis."""
    from dataclasses import replace

    if field_name in _PAIRS:
        old = getattr(s, field_name)
        h, w = (0, 0) if isinstance(old, str) else pair(old, field_name, minimum=0)
        value = {"height": (value, w), "width": (h, value)}.get(axis, (value, value))
    return replace(s, **{field_name: value})


def _describe_change(name: str, value) -> str:
    words = {
        "pool_size": "pool size",
        "pool_stride": "pool stride",
        "padding_mode": "padding mode",
        "pool": "pooling",
    }.get(name, name)
    if isinstance(value, tuple):
        value = value[0] if value[0] == value[1] else f"{value[0]} × {value[1]}"
    return f"{words} {value}"


def chain_fixes(
    shape: tuple[int, int],
    kernel: tuple[int, int],
    s: Settings,
    limits: dict[str, tuple[int, int]] | None = None,
    most: int = 4,
) -> list[ChainFix]:
    """The nearest settings that make convolution AND pooling work on an (H, W) input.

    Follows the engine's own fixes stage by stage (a padding fix for the convolution, then, if
    the pooling now fails, a pool fix on top), for both dimensions, and keeps only combinations
    that pass `check_sizes` and stay within `limits` (field -> (lo, hi), the page's controls).
    Turning pooling off is offered last when pooling is what fails.
    """
    limits = limits or {}

    def within(name: str, value) -> bool:
        if name not in limits:
            return True
        lo, hi = limits[name]
        values = value if isinstance(value, tuple) else (value,)
        return all(isinstance(v, int) and lo <= v <= hi for v in values)

    found: list[ChainFix] = []
    seen: set = set()
    frontier: list[tuple[Settings, dict]] = [(s, {})]
    for _ in range(4):  # at most four stacked fixes: conv h, conv w, pool h, pool w
        nxt = []
        for cur, changes in frontier:
            stage = _stage(shape, kernel, cur)
            if stage is None:
                key = tuple(sorted((k, str(v)) for k, v in changes.items()))
                if changes and key not in seen:
                    seen.add(key)
                    text = ", ".join(_describe_change(k, v) for k, v in changes.items())
                    found.append(ChainFix(text, tuple(changes.items())))
                continue
            try:
                check_sizes(shape, kernel, cur)
            except SettingError as err:
                fields = _CONV_FIELDS if stage == "conv" else _POOL_FIELDS
                for f in err.fixes:
                    names = [n for n, _ in f.changes if not (n == "dilation" and stage == "pool")]
                    if not f.changes or any(n not in fields for n in names):
                        continue
                    new, ch = cur, dict(changes)
                    for n in names:
                        value = dict(f.changes)[n]
                        new = _apply(new, fields[n], value, f.axis)
                        ch[fields[n]] = getattr(new, fields[n])
                    if all(within(k, v) for k, v in ch.items()):
                        nxt.append((new, ch))
        frontier = nxt
        if not frontier:
            break
    if s.pool != "none" and _stage(shape, kernel, s) == "pool":
        found.append(ChainFix("pooling none", (("pool", "none"),)))
    found.sort(key=lambda f: len(f.changes))
    return found[:most]
