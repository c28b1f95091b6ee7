"""A CNN as a short text that fits in a URL, the nn.Sequential it builds, and its layer table.

Grammar (layers joined by "-"; commas or spaces also separate; case does not matter)::

    conv<C>[k<K>][s<S>][p<P>][d<D>]   Conv2d, C filters of K×K (default k3 s1 p0 d1)
    res<C>[k<K>]                      residual block: conv C K×K (padded to keep the size) -
                                      relu - conv C K×K, plus the block's input (a 1×1 conv
                                      when the channel count changes), then relu; K odd (3)
    relu | lrelu[<slope>] | sigmoid | tanh | gelu    activations (lrelu slope default 0.01)
    max<K>[s<S>][p<P>]                MaxPool2d, window K, stride S (default = K), padding P
    avg<K>[s<S>][p<P>]                AvgPool2d, the same settings
    bn                                batch norm (BatchNorm2d on maps, BatchNorm1d after flat)
    drop[<p>]                         dropout, p a fraction 0-0.99 (default 0.5)
    flat                              flatten a C×H×W map into one vector of C·H·W numbers
    gap                               global average pool: one number per channel (C×1×1)
    fc[<N>]                           linear layer with N outputs; the LAST fc may leave N out:
                                      it then gives one score per class (n_classes)

Example: ``conv8k3p1-relu-max2-conv16k3-relu-max2-flat-fc64-relu-fc``. Long names are read too
(``maxpool2``, ``dense64``, ``linear64``, ``dropout0.25``, ``batchnorm``, ``flatten``...);
`to_text` always writes the short canonical form, and ``parse(to_text(x)) == x`` for every list
that `parse` returns.

Flatten: a linear layer needs a flat vector. When the first fc has no flat before it, `parse`
inserts one right before it and says so in `notes` (``conv8-fc`` reads as ``conv8-flat-fc``).
A list of Layer objects given directly is never changed: a missing flat is an ArchError with the fix.

Counting conventions (per image, batch of one):
- params: weights + biases as torch counts them (``sum(p.numel())``); batch norm's scale (γ)
  and shift (β) count as its weights and biases; its running mean/variance are buffers, not params.
- macs: multiply-adds (MACs) of conv and linear layers only. A conv does C_in·K·K multiply-adds
  for each output number (C_out·H_out·W_out of them; C_in/groups with groups); a linear layer
  in·out. Bias additions are not counted. torch's FlopCounterMode counts each multiply-add as 2
  FLOPs (a multiply and an add), so its total is exactly 2 × the MACs (`Row.flops`).
- ops: every other layer's operations, kept apart from the MACs: one per number a layer reads
  (a pool K·K per output, an activation, batch norm or dropout one per element, global average
  pooling H·W per channel); flatten 0; 0 for conv and linear.
- receptive field: input pixels (per side) that one output unit of the layer sees, by the
  standard recurrence r += (k_eff − 1)·jump (it may exceed the image when padding is used);
  None once the map is flattened (every number then depends on the whole image). A module with
  branches (a ResNet's shortcut) is followed along its torch.fx graph: a layer grows the field
  of the tensor it consumed, and where branches merge (add, cat) the larger field wins.

Ranges (RANGES): conv filters 1-512, kernel 1-15, stride 1-8, padding 0-15, dilation 1-8; pool
window 1-16, stride 1-16, padding 0-8 and at most half the window (torch's rule); fc 1-8192.
Caps for a shared classroom CPU: at most MAX_LAYERS layers and MAX_TEXT characters of text,
MAX_PARAMS parameters and MAX_OPS operations (multiply-adds + other operations) per image (`check` and `build` refuse more, with
a sentence saying what to shrink).

Refusals are ArchError (a ValueError): one sentence naming the layer ("Layer 5 (max2): ..."),
`.layer` its 0-based index, `.suggestions` the fixes in words, `.fixes` (words, whole spec text
that was checked to work, or None).

API: parse, to_text, summarize (spec or any nn.Module), check, build, to_code, totals, format_rows,
shape_text, preset_for, preset_training, min_input_size, pad_convs; module_kind / layer_of /
module_name for torch modules.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

import torch
import torch.fx
from torch import nn

from cnnviz.codegen import layer_code
from cnnviz.shapes import SettingError, output_size

MAX_LAYERS = 40
MAX_PARAMS = 2_000_000
MAX_OPS = 50_000_000  # multiply-adds + other operations per image
MAX_TEXT = 400

ACTIVATION_KINDS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")
KINDS = (
    "conv",
    *ACTIVATION_KINDS,
    "maxpool",
    "avgpool",
    "batchnorm",
    "dropout",
    "flatten",
    "linear",
    "gap",
    "res",
)

# kind -> {arg: default}; None for a pool's stride means "same as the window"
DEFAULTS: dict[str, dict] = {
    "conv": {"out_channels": None, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1},
    "relu": {},
    "leaky_relu": {"negative_slope": 0.01},
    "sigmoid": {},
    "tanh": {},
    "gelu": {},
    "maxpool": {"kernel_size": 2, "stride": None, "padding": 0},
    "avgpool": {"kernel_size": 2, "stride": None, "padding": 0},
    "batchnorm": {},
    "dropout": {"p": 0.5},
    "flatten": {},
    "linear": {"out_features": None},
    "gap": {},
    "res": {"out_channels": None, "kernel_size": 3},
}

# (minimum, maximum) of each number a user may type
RANGES = {
    ("conv", "out_channels"): (1, 512),
    ("conv", "kernel_size"): (1, 15),
    ("conv", "stride"): (1, 8),
    ("conv", "padding"): (0, 15),
    ("conv", "dilation"): (1, 8),
    ("pool", "kernel_size"): (1, 16),
    ("pool", "stride"): (1, 16),
    ("pool", "padding"): (0, 8),
    ("linear", "out_features"): (1, 8192),
    ("dropout", "p"): (0.0, 0.99),
    ("leaky_relu", "negative_slope"): (0.0, 1.0),
    ("res", "out_channels"): (1, 512),
    ("res", "kernel_size"): (1, 7),
}

TOKEN = {
    "conv": "conv",
    "relu": "relu",
    "leaky_relu": "lrelu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "gelu": "gelu",
    "maxpool": "max",
    "avgpool": "avg",
    "batchnorm": "bn",
    "dropout": "drop",
    "flatten": "flat",
    "linear": "fc",
    "gap": "gap",
    "res": "res",
}
ALIASES = {
    **{v: k for k, v in TOKEN.items()},
    "conv2d": "conv",
    "leaky": "leaky_relu",
    "leakyrelu": "leaky_relu",
    "leaky_relu": "leaky_relu",
    "sig": "sigmoid",
    "maxpool": "maxpool",
    "mp": "maxpool",
    "pool": "maxpool",
    "avgpool": "avgpool",
    "ap": "avgpool",
    "batchnorm": "batchnorm",
    "norm": "batchnorm",
    "dropout": "dropout",
    "flatten": "flatten",
    "linear": "linear",
    "dense": "linear",
    "globalavg": "gap",
    "gavg": "gap",
    "residual": "res",
    "resblock": "res",
    "block": "res",
}
# option letter -> arg name, per kind (the first, unlettered number is the kind's main arg)
OPTIONS = {
    "conv": {
        "": "out_channels",
        "k": "kernel_size",
        "s": "stride",
        "p": "padding",
        "d": "dilation",
    },
    "maxpool": {"": "kernel_size", "s": "stride", "p": "padding"},
    "avgpool": {"": "kernel_size", "s": "stride", "p": "padding"},
    "leaky_relu": {"": "negative_slope"},
    "dropout": {"": "p"},
    "linear": {"": "out_features"},
    "res": {"": "out_channels", "k": "kernel_size"},
}
FLOAT_ARGS = {"negative_slope", "p"}

TITLES = {
    "conv": "Convolution",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "sigmoid": "Sigmoid",
    "tanh": "tanh",
    "gelu": "GELU",
    "maxpool": "Max pooling",
    "avgpool": "Average pooling",
    "batchnorm": "Batch norm",
    "dropout": "Dropout",
    "flatten": "Flatten",
    "linear": "Linear",
    "gap": "Global average pooling",
    "res": "Residual block",
}

PRESETS: dict[str, str] = {
    "minimal": "conv8k3-relu-max2-flat-fc",
    "lenet5": "conv6k5p2-tanh-avg2-conv16k5-tanh-avg2-flat-fc120-tanh-fc84-tanh-fc",
    "tinyvgg": "conv10k3-relu-conv10k3-relu-max2-conv10k3-relu-conv10k3-relu-max2-flat-fc",
    "keras": "conv32k3-relu-max2-conv64k3-relu-max2-conv64k3-relu-flat-fc64-relu-fc",
}
PRESET_INFO: dict[str, tuple[str, str]] = {
    "minimal": (
        "Minimal: one conv",
        "One 3×3 conv with 8 filters, ReLU, a 2×2 max pool and a "
        "linear layer: the smallest net that still learns edges.",
    ),
    "lenet5": (
        "LeNet-5 (modern form)",
        "LeNet-5 as most tutorials rebuild it: two 5×5 convs "
        "(6 and 16 filters, the first padded by 2 so a 28×28 digit keeps its size), plain "
        "tanh, 2×2 average pooling, then fully connected 120 → 84 → one linear score per "
        "class (61,706 parameters on 28×28 digits, 10 classes). LeCun et al.'s 1998 net "
        "differs: a 32×32 input with no padding; C3 joins each of its 16 maps to only 3-6 "
        "of the 6 S2 maps (a connection table: 1,516 parameters instead of 2,416); the "
        "squashing is 1.7159·tanh(2x/3); each subsampling layer adds up a 2×2 block, "
        "multiplies it by a trainable coefficient and adds a trainable bias (then "
        "squashes); the output is 10 RBF units (the squared distance to fixed 7×12 "
        "codes), not a linear layer. Needs an input of at least 12×12.",
    ),
    "tinyvgg": (
        "Tiny VGG (CNN Explainer)",
        "Two blocks of two 3×3 convs (10 filters) + ReLU + "
        "2×2 max pool, then one linear layer, as in CNN Explainer. Needs at least 16×16.",
    ),
    "keras": (
        "Keras tutorial net",
        "Conv 32 3×3 → MaxPool 2 → Conv 64 3×3 → MaxPool 2 → Conv "
        "64 3×3 → Flatten → Dense 64 → Dense classes (the classic Keras/TensorFlow CNN "
        "tutorial, on CIFAR-10). On 32×32 colour pictures of 10 classes (shapes10) it has "
        "the tutorial's numbers: 896 + 18,496 + 36,928 + 65,600 + 650 = 122,570 "
        "parameters; Keras writes shapes height × width × channels (the table can too). "
        "Needs at least 18×18.",
    ),
}
DEFAULT_PRESET = "minimal"

# What each preset trains with by default and what that reaches: the data it is shown on, the
# settings (TrainConfig names) and the validation accuracy it passes with seed 0 (measured by
# tests/test_preset_training.py, which trains each preset with exactly these settings). The Train
# page applies them when a preset is picked.
PRESET_TRAINING: dict[str, dict] = {
    "minimal": {
        "data": "digits",
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 64,
        "epochs": 3,
        "val_acc": 0.95,
    },
    "lenet5": {
        "data": "digits",
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 64,
        "epochs": 7,
        "val_acc": 0.97,
    },
    "tinyvgg": {
        "data": "shapes",
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 64,
        "epochs": 3,
        "val_acc": 0.90,
    },
    "keras": {
        "data": "shapes10",
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 64,
        "epochs": 3,
        "val_acc": 0.80,
    },
}


def preset_training(name: str) -> dict:
    """The TrainConfig settings (optimizer, lr, batch_size, epochs) a preset trains with."""
    if name not in PRESET_TRAINING:
        raise ArchError(f"{name!r} is not a preset; use one of {', '.join(PRESETS)}.")
    return {k: v for k, v in PRESET_TRAINING[name].items() if k not in ("data", "val_acc")}


def preset_training_text(name: str) -> str:
    """One sentence: the preset's default settings and the accuracy they reach on its data."""
    t = PRESET_TRAINING[name]
    opt = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}[t["optimizer"]]
    return (
        f"Its defaults ({opt}, lr {t['lr']:g}, batch {t['batch_size']}, {t['epochs']} epochs) "
        f"pass {t['val_acc']:.0%} validation accuracy on {t['data']} (seed 0)."
    ).replace("%", " %")


class ArchError(ValueError):
    """An architecture that cannot work: one sentence why (with numbers), the culprit layer
    (0-based, or None when it is about the whole net), and fixes in words (`suggestions`);
    `fixes` pairs each with a whole spec text that works, when one was found (else None)."""

    def __init__(
        self,
        message: str,
        layer: int | None = None,
        suggestions: list[str] | None = None,
        fixes: list[tuple[str, str | None]] | None = None,
    ):
        super().__init__(message)
        self.layer = layer
        self.fixes: list[tuple[str, str | None]] = list(fixes or [])
        self.suggestions: list[str] = list(suggestions or [t for t, _ in self.fixes])


def _round(value: float) -> float:
    return round(float(value), 4)


@dataclass(frozen=True)
class Layer:
    """One layer: a kind from KINDS and its settings (torch argument names). Missing settings are
    filled with their defaults, so two equal layers compare equal however they were written."""

    kind: str
    args: dict = field(default_factory=dict)

    def __post_init__(self):
        kind = ALIASES.get(self.kind, self.kind)
        if kind not in DEFAULTS:
            raise ArchError(f"{self.kind!r} is not a layer kind; use one of {', '.join(KINDS)}.")
        unknown = set(self.args) - set(DEFAULTS[kind])
        if unknown:
            raise ArchError(
                f"{TITLES[kind]} has no setting {', '.join(sorted(unknown))}; it takes "
                f"{', '.join(DEFAULTS[kind]) or 'no settings'}."
            )
        args = {**DEFAULTS[kind], **self.args}
        for name in FLOAT_ARGS & set(args):
            if isinstance(args[name], (int, float)) and not isinstance(args[name], bool):
                args[name] = _round(args[name])
        if kind in ("maxpool", "avgpool") and args["stride"] is None:
            args["stride"] = args["kernel_size"]
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "args", args)

    def __hash__(self) -> int:  # args is a dict: hash the canonical text instead
        return hash(self.token)

    @property
    def token(self) -> str:
        """This layer in the spec text, e.g. conv8k3p1."""
        a, kind = self.args, self.kind
        text = TOKEN[kind]
        if kind == "conv":
            text += f"{a['out_channels']}k{a['kernel_size']}"
            text += "".join(
                f"{letter}{a[name]}"
                for letter, name, default in (
                    ("s", "stride", 1),
                    ("p", "padding", 0),
                    ("d", "dilation", 1),
                )
                if a[name] != default
            )
        elif kind in ("maxpool", "avgpool"):
            text += f"{a['kernel_size']}"
            if a["stride"] != a["kernel_size"]:
                text += f"s{a['stride']}"
            if a["padding"]:
                text += f"p{a['padding']}"
        elif kind == "leaky_relu" and a["negative_slope"] != DEFAULTS[kind]["negative_slope"]:
            text += _num(a["negative_slope"])
        elif kind == "dropout" and a["p"] != DEFAULTS[kind]["p"]:
            text += _num(a["p"])
        elif kind == "linear" and a["out_features"] is not None:
            text += f"{a['out_features']}"
        elif kind == "res":
            text += f"{a['out_channels']}k{a['kernel_size']}"
        return text

    @property
    def title(self) -> str:
        """In words, e.g. "Convolution: 8 filters 3×3, padding 1"."""
        a, kind = self.args, self.kind
        if kind == "conv":
            extra = "".join(
                f", {name} {a[name]}"
                for name, d in (("stride", 1), ("padding", 0), ("dilation", 1))
                if a[name] != d
            )
            k = a["kernel_size"]
            return f"Convolution: {a['out_channels']} filters {k}×{k}{extra}"
        if kind in ("maxpool", "avgpool"):
            k = a["kernel_size"]
            extra = f", stride {a['stride']}" if a["stride"] != k else ""
            extra += f", padding {a['padding']}" if a["padding"] else ""
            return f"{TITLES[kind]} {k}×{k}{extra}"
        if kind == "linear":
            n = a["out_features"]
            return f"Linear: {n} outputs" if n is not None else "Linear: one score per class"
        if kind == "dropout":
            return f"Dropout p = {a['p']:g}"
        if kind == "leaky_relu":
            return f"Leaky ReLU (slope {a['negative_slope']:g})"
        if kind == "res":
            k = a["kernel_size"]
            return f"Residual block: 2 convs of {a['out_channels']} filters {k}×{k} + skip"
        return TITLES[kind]


def _num(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


# ---------------------------------------------------------------- text <-> layers

_SPLIT = re.compile(r"[\s,>→\-]+")
_OPTION = re.compile(r"([a-z]?)(\d+(?:\.\d+)?|\.\d+)")


def _kind_list() -> str:
    return "conv8k3, relu, lrelu, sigmoid, tanh, gelu, max2, avg2, bn, drop0.5, flat, gap, fc64"


def _parse_token(tok: str, index: int) -> Layer:
    where = f"Layer {index + 1} ({tok!r})"
    m = re.fullmatch(r"([a-z_]+)(.*)", tok)
    if m is None:
        raise ArchError(
            f"{where} does not start with a layer name; layers look like {_kind_list()}.", index
        )
    name, rest = m.groups()
    kind = ALIASES.get(name)
    if kind is None:
        close = difflib.get_close_matches(name, list(ALIASES), n=1, cutoff=0.6)
        hint = f" (did you mean {TOKEN[ALIASES[close[0]]]!r}?)" if close else ""
        raise ArchError(
            f"{where}: {name!r} is not a layer I know{hint}; layers look like {_kind_list()}.",
            index,
            [f"use {TOKEN[ALIASES[close[0]]]}" if close else "remove this layer"],
        )
    options = OPTIONS.get(kind, {})
    parts = _OPTION.findall(rest)
    if "".join(a + b for a, b in parts) != rest:
        allowed = ", ".join(f"{k or '(first number)'}={v}" for k, v in options.items())
        raise ArchError(
            f"{where}: cannot read {rest!r} after {name!r}; "
            + (f"{name} takes {allowed}." if options else f"{name} takes no settings."),
            index,
        )
    args: dict = {}
    for i, (letter, number) in enumerate(parts):
        if letter == "" and i > 0:
            raise ArchError(f"{where}: the number {number} needs a letter in front of it.", index)
        if letter not in options:
            if not options:
                raise ArchError(f"{where}: {name} takes no settings; write just {name!r}.", index)
            allowed = ", ".join(f"{k}" for k in options if k)
            raise ArchError(
                f"{where}: {letter!r} is not a setting of {name}"
                + (f"; it takes {allowed}." if allowed else "; it takes only one number."),
                index,
            )
        arg = options[letter]
        if arg in args:
            raise ArchError(f"{where}: {arg} is given twice.", index)
        value = float(number)
        if arg not in FLOAT_ARGS:
            if not value.is_integer():
                raise ArchError(f"{where}: {arg} must be a whole number, not {number}.", index)
            value = int(value)
        args[arg] = value
    if kind == "conv" and "out_channels" not in args:
        raise ArchError(
            f"{where}: a conv needs its number of filters, e.g. conv8 (8 filters 3×3).",
            index,
            ["write conv8"],
        )
    if kind == "res" and "out_channels" not in args:
        raise ArchError(
            f"{where}: a residual block needs its number of filters, e.g. res8 (two convs of "
            "8 filters 3×3 and a skip).",
            index,
            ["write res8"],
        )
    layer = Layer(kind, args)
    _check_layer(layer, index)
    return layer


def _check_layer(layer: Layer, index: int) -> None:
    """Each number inside its range; a message naming the layer and the range."""
    group = "pool" if layer.kind in ("maxpool", "avgpool") else layer.kind
    where = f"Layer {index + 1} ({layer.token})"
    for arg, value in layer.args.items():
        rng = RANGES.get((group, arg))
        if rng is None or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArchError(f"{where}: {arg} must be a number, not {value!r}.", index)
        if arg not in FLOAT_ARGS and not float(value).is_integer():
            raise ArchError(f"{where}: {arg} must be a whole number, not {value}.", index)
        lo, hi = rng
        if not lo <= value <= hi:
            hint = ""
            if arg == "p" and 1 <= value < 100:
                hint = f" (a fraction: did you mean drop{_num(value / 100)}?)"
            raise ArchError(
                f"{where}: {arg} must be between {lo:g} and {hi:g}; it is {value:g}{hint}.",
                index,
                [f"{arg} {'≤ ' + format(hi, 'g') if value > hi else '≥ ' + format(lo, 'g')}"],
            )


def _check_count(n: int) -> None:
    if not n:
        raise ArchError(f"The architecture is empty; try {PRESETS[DEFAULT_PRESET]!r}.")
    if n > MAX_LAYERS:
        raise ArchError(
            f"The architecture has {n} layers; a classroom CPU trains at most {MAX_LAYERS}."
        )


def parse(text: str, notes: list[str] | None = None) -> list[Layer]:
    """Layers from spec text; ArchError (naming the layer) on anything unreadable.

    A flat is inserted before the first fc when none comes before it; pass a list as `notes`
    to collect a sentence about every such change."""
    if not isinstance(text, str):
        raise ArchError(f"The architecture must be text, not {type(text).__name__}.")
    if len(text) > MAX_TEXT:
        raise ArchError(
            f"The architecture text is {len(text)} characters long; at most {MAX_TEXT} are read."
        )
    tokens = [t for t in _SPLIT.split(text.strip().lower()) if t]
    _check_count(len(tokens))
    layers = [_parse_token(tok, i) for i, tok in enumerate(tokens)]
    return _insert_flatten(layers, notes)


def _insert_flatten(layers: list[Layer], notes: list[str] | None) -> list[Layer]:
    for i, layer in enumerate(layers):
        if layer.kind == "flatten":
            return layers
        if layer.kind == "linear":
            if notes is not None:
                notes.append(
                    f"A linear layer needs a flat vector, so a flat was added before layer "
                    f"{i + 1} ({layer.token})."
                )
            return [*layers[:i], Layer("flatten"), *layers[i:]]
    return layers


def to_text(layers: list[Layer]) -> str:
    """The short, URL-safe spec text of a list of layers (canonical form)."""
    return "-".join(layer.token for layer in layers)


def _layers(spec) -> list[Layer]:
    if isinstance(spec, str):
        return parse(spec)
    if isinstance(spec, Layer):
        spec = [spec]
    try:
        layers = list(spec)
    except TypeError:
        raise ArchError(
            f"An architecture is spec text or a list of Layer, not {type(spec).__name__}."
        ) from None
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ArchError(f"Layer {i + 1} is a {type(layer).__name__}, not a Layer.", i)
        _check_layer(layer, i)
    _check_count(len(layers))
    return layers


# ---------------------------------------------------------------- shapes, rows

Shape = tuple[int, ...]


@dataclass
class Row:
    """One layer of the table: what comes out, what it costs, and how the numbers were made."""

    index: int  # 0-based, the position in the spec / the nn.Sequential
    name: str  # short name: the spec token (conv8k3p1) or the module's class name
    kind: str  # one of KINDS, or "other" for a module cnnviz does not know
    out_shape: tuple  # without the batch dimension: (C, H, W) or (N,)
    weights: int
    biases: int
    params: int
    params_formula: str  # e.g. "8 × 1 × 3 × 3 weights + 8 biases = 80"
    macs: int  # multiply-adds (conv and linear layers; 0 for the others)
    ops: int  # the other layers' operations, one per number read (0 for conv and linear)
    receptive_field: int | tuple | None
    size_formula: str | None  # conv/pool: the output-size formula with its numbers
    in_shape: tuple = ()
    title: str = ""  # in words, e.g. "Convolution: 8 filters 3×3"
    cost_formula: str = ""  # e.g. "1600 outputs × 150 multiply-adds = 240000"
    module: str = ""  # the torch module, e.g. "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))"

    @property
    def flops(self) -> int:
        """Floating-point operations of the multiply-adds as torch's FlopCounterMode counts them:
        2 per multiply-add (conv and linear layers; 0 for the others)."""
        return 2 * self.macs


def _fmt_shape(shape: Shape) -> str:
    return " × ".join(str(s) for s in shape)


ORDERS = ("CHW", "HWC")


def shape_text(shape, order: str = "CHW") -> str:
    """A shape as text: PyTorch's channels × height × width ("CHW"), or Keras/TensorFlow's
    height × width × channels ("HWC"); a flat vector is the same in both."""
    shape = tuple(int(v) for v in shape)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if order == "HWC" and len(shape) == 3:
        shape = (*shape[1:], shape[0])
    return _fmt_shape(shape)


def _field(r: list[int]) -> int | tuple:
    return r[0] if r[0] == r[1] else (r[0], r[1])


def _params_formula(kind: str, weight_dims: tuple, bias: int, extra: int = 0) -> tuple:
    """(weights, biases, params, formula) for a layer's parameter tensors."""
    weights = math.prod(weight_dims) if weight_dims else 0
    total = weights + bias + extra
    if not weights and not bias and not extra:
        return 0, 0, 0, "no parameters"
    if kind == "batchnorm":
        return weights, bias, total, f"{weights} scales (γ) + {bias} shifts (β) = {total}"
    dims = " × ".join(str(d) for d in weight_dims)
    parts = [f"{dims} weights" if len(weight_dims) > 1 else f"{weights} weights"]
    if bias:
        parts.append(f"{bias} biases")
    if extra:
        parts.append(f"{extra} other")
    return weights, bias, total, " + ".join(parts) + f" = {total}"


def _size_formula(out) -> str:
    dims = out.dims[:1] if out.symmetric else out.dims
    if len(dims) == 1:
        return f"height and width: {dims[0].formula}"
    return "; ".join(f"{d.axis}: {d.formula}" for d in dims)


def _cost(kind: str, in_shape: Shape, out_shape: Shape, per_out: int = 1) -> tuple[int, int, str]:
    """(multiply-adds, other operations, the arithmetic in words) of one layer."""
    n_out = math.prod(out_shape)
    n_in = math.prod(in_shape)
    if kind in ("conv", "linear"):
        macs = n_out * per_out
        return macs, 0, f"{n_out} outputs × {per_out} multiply-adds = {macs}"
    if kind in ("maxpool", "avgpool"):
        return 0, n_out * per_out, f"{n_out} outputs × {per_out} reads = {n_out * per_out}"
    if kind == "gap":
        return 0, n_in, f"{in_shape[0]} channels × {n_in // in_shape[0]} numbers = {n_in}"
    if kind == "flatten":
        return 0, 0, "0 (only the shape changes)"
    return 0, n_in, f"{n_in} elements × 1 = {n_in}"


@dataclass
class _Step:
    layer: Layer
    in_shape: Shape
    out_shape: Shape
    module: nn.Module | None = None


class _Walker:
    """Follows shapes and the receptive field through the layers, making a Row per layer."""

    def __init__(self, input_shape: Shape):
        self.shape = input_shape
        self.r, self.j = [1, 1], [1, 1]
        self.flat_at: int | None = None

    def spatial(self, k, s, p, d) -> None:
        for a in range(2):
            self.r[a] += d * (k - 1) * self.j[a]
            self.j[a] *= s

    @property
    def rf(self):
        return None if self.flat_at is not None else _field(self.r)


def _check_input_shape(input_shape) -> Shape:
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ArchError(
            f"The input shape must be (channels, height, width), not {input_shape!r}."
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ArchError(
            f"The input shape must be three positive numbers (channels, height, width), not "
            f"{input_shape!r}."
        )
    return shape


def _spec_rows(
    layers: list[Layer], input_shape: Shape, n_classes: int, explain: bool = True
) -> list[Row]:
    """Rows computed from the settings alone (no torch); ArchError at the first impossible layer
    (with fixes that were checked to work, unless explain is False)."""
    w = _Walker(input_shape)
    rows: list[Row] = []
    last_fc = max((i for i, L in enumerate(layers) if L.kind == "linear"), default=None)
    for i, layer in enumerate(layers):
        rows.append(_spec_row(i, layer, w, layers, n_classes, i == last_fc, input_shape, explain))
    return rows


def _culprit(i: int, layer: Layer) -> str:
    return f"Layer {i + 1} ({layer.token})"


def _spec_row(i, layer, w: _Walker, layers, n_classes, is_last_fc, input_shape, explain) -> Row:
    kind, a = layer.kind, layer.args
    shape = w.shape
    where = _culprit(i, layer)
    size_formula = None
    weight_dims: tuple = ()
    bias = 0
    per_out = 1
    if kind in ("conv", "maxpool", "avgpool", "gap", "res") and len(shape) != 3:
        raise ArchError(
            f"{where}: {TITLES[kind].lower()} needs a feature map (channels × height × width), but "
            f"after the flatten at layer {w.flat_at + 1} it gets a flat vector of {shape[0]} "
            f"numbers; move it before the flatten.",
            i,
            fixes=_try_fixes(layers, i, input_shape, n_classes, ["remove"]) if explain else [],
        )
    if kind == "linear" and len(shape) != 1:
        fixed = [*layers[:i], Layer("flatten"), *layers[i:]]
        raise ArchError(
            f"{where}: a linear layer needs a flat vector, but it gets a "
            f"{_fmt_shape(shape)} feature map; add flat before it.",
            i,
            fixes=[("add flat before it", to_text(fixed))],
        )
    if kind == "conv":
        k, s, p, d = a["kernel_size"], a["stride"], a["padding"], a["dilation"]
        try:
            out = output_size(shape[1:], k, s, p, d, op="conv")
        except SettingError as err:
            raise _impossible(
                i, layer, err, shape, layers, input_shape, n_classes, explain
            ) from None
        out_shape = (a["out_channels"], *out.size)
        size_formula = _size_formula(out)
        weight_dims = (a["out_channels"], shape[0], k, k)
        bias = a["out_channels"]
        per_out = shape[0] * k * k
        w.spatial(k, s, p, d)
    elif kind in ("maxpool", "avgpool"):
        k, s, p = a["kernel_size"], a["stride"], a["padding"]
        try:
            out = output_size(shape[1:], k, s, p, op="pool")
        except SettingError as err:
            raise _impossible(
                i, layer, err, shape, layers, input_shape, n_classes, explain
            ) from None
        out_shape = (shape[0], *out.size)
        size_formula = _size_formula(out)
        per_out = k * k
        w.spatial(k, s, p, 1)
    elif kind == "gap":
        out_shape = (shape[0], 1, 1)
        w.r = [w.r[0] + (shape[1] - 1) * w.j[0], w.r[1] + (shape[2] - 1) * w.j[1]]
    elif kind == "flatten":
        out_shape = (math.prod(shape),)
        if w.flat_at is None:
            w.flat_at = i
    elif kind == "linear":
        n = a["out_features"]
        if n is None:
            if not is_last_fc:
                raise ArchError(
                    f"{where}: only the last linear layer may leave out its size (it then gives "
                    f"one score per class); write e.g. fc64.",
                    i,
                    fixes=_try_fixes(layers, i, input_shape, n_classes, ["fc64"])
                    if explain
                    else [],
                )
            n = n_classes
        out_shape = (n,)
        weight_dims = (n, shape[0])
        bias = n
        per_out = shape[0]
    elif kind == "batchnorm":
        out_shape = shape
        weight_dims = (shape[0],)
        bias = shape[0]
    elif kind == "res":
        return _res_row(i, layer, w, shape)
    else:
        out_shape = shape
    weights, biases, params, pformula = _params_formula(kind, weight_dims, bias)
    macs, ops, fformula = _cost(kind, shape, out_shape, per_out)
    w.shape = out_shape
    row = Row(
        i,
        layer.token,
        kind,
        out_shape,
        weights,
        biases,
        params,
        pformula,
        macs,
        ops,
        w.rf,
        size_formula,
        shape,
        layer.title,
        fformula,
    )
    row.module = _code(layer, row)
    return row


def _res_row(i: int, layer: Layer, w: _Walker, shape: Shape) -> Row:
    """A residual block's row: the same map size, two convs' parameters (plus a 1×1 projection
    when the channel count changes), the receptive field of its longer path (two convs)."""
    c, k = layer.args["out_channels"], layer.args["kernel_size"]
    if k % 2 == 0:
        raise ArchError(
            f"{_culprit(i, layer)}: a residual block needs an odd kernel (1, 3, 5, 7) so its "
            f"convs keep the map's size and the skip can be added; it has {k}.",
            i,
            [f"res{c}k{k + 1}"],
        )
    cin, h, wd = shape
    out_shape = (c, h, wd)
    conv1, conv2 = c * cin * k * k, c * c * k * k
    proj = c * cin if cin != c else 0
    weights, biases = conv1 + conv2 + proj, 2 * c + (c if proj else 0)
    pformula = (
        f"{c} × {cin} × {k} × {k} + {c} × {c} × {k} × {k} weights"
        + (f" + {c} × {cin} projection weights" if proj else "")
        + f" + {biases} biases = {weights + biases}"
    )
    per_out = cin * k * k + c * k * k + (cin if proj else 0)
    n_out = c * h * wd
    macs = n_out * per_out
    fformula = f"{n_out} outputs × {per_out} multiply-adds (both convs{', projection' if proj else ''}) = {macs}"
    w.spatial(k, 1, k // 2, 1)
    w.spatial(k, 1, k // 2, 1)
    w.shape = out_shape
    size = f"height and width: the same ({h}×{wd}): each conv pads {k // 2} = ({k} − 1) / 2"
    row = Row(
        i,
        layer.token,
        "res",
        out_shape,
        weights,
        biases,
        weights + biases,
        pformula,
        macs,
        0,
        w.rf,
        size,
        shape,
        layer.title,
        fformula,
    )
    row.module = _code(layer, row)
    return row


def _impossible(
    i, layer, err: SettingError, shape, layers, input_shape, n_classes, explain=True
) -> ArchError:
    """The culprit, why (the shapes module's words) and fixes that make the whole net work."""
    k = layer.args["kernel_size"]
    what = f"{k}×{k} filters do" if layer.kind == "conv" else f"{k}×{k} window does"
    reason = str(err)
    if not explain:
        return ArchError(reason, i)
    candidates: list = []
    for f in err.fixes:
        changes = dict(f.changes)
        if "padding" in changes or "kernel_size" in changes:
            candidates.append(changes)
    candidates.append("remove")
    fixes = _try_fixes(layers, i, input_shape, n_classes, candidates)
    padded = pad_convs(layers)
    if padded != layers and _fits(padded, input_shape, n_classes):
        fixes.append(("pad every conv by k // 2 so it keeps the size", to_text(padded)))
    size = min_input_size(layers, input_shape, n_classes)
    if size is not None:
        fixes.append((f"use an input of at least {size}×{size} pixels", None))
    core = re.split(r"\. (?:Try|Use) ", reason.rstrip("."))[0]
    axes, _, core = core.partition(": ") if ": " in core else ("", "", core)
    words = "; or ".join(t for t, _ in fixes[:3])
    if "larger than" not in core:  # not about size, e.g. pool padding over half the window
        what = "settings do"
    return ArchError(
        f"{_culprit(i, layer)}: its {what} not fit the {shape[1]}×{shape[2]} map it gets "
        f"({axes + ': ' if axes else ''}{core})"
        + (f"; what would fit: {words}." if words else "."),
        i,
        fixes=fixes,
    )


def _try_fixes(layers, i, input_shape, n_classes, candidates) -> list[tuple[str, str | None]]:
    """Each candidate change of layer i that makes the whole stack fit, as (words, spec)."""
    out: list[tuple[str, str | None]] = []
    for c in candidates:
        if c == "remove":
            new = layers[:i] + layers[i + 1 :]
            words = f"remove layer {i + 1} ({layers[i].token})"
        elif isinstance(c, str):  # a replacement token
            new = [*layers[:i], _parse_token(c, i), *layers[i + 1 :]]
            words = f"write {c} instead of {layers[i].token}"
        else:
            try:
                changed = Layer(layers[i].kind, {**layers[i].args, **c})
                _check_layer(changed, i)
            except ArchError:
                continue
            if changed.kind in ("maxpool", "avgpool") and "kernel_size" in c:
                if layers[i].args["stride"] == layers[i].args["kernel_size"]:
                    changed = Layer(changed.kind, {**changed.args, "stride": c["kernel_size"]})
            new = [*layers[:i], changed, *layers[i + 1 :]]
            words = f"{changed.token} instead of {layers[i].token}"
        if new and _fits(new, input_shape, n_classes):
            out.append((words, to_text(new)))
    return out


def _fits(layers, input_shape, n_classes) -> bool:
    try:
        _spec_rows(layers, input_shape, n_classes, explain=False)
    except ArchError:
        return False
    return True


def min_input_size(spec, input_shape, n_classes: int | None = None) -> int | None:
    """The smallest square input side (same channels) on which every layer fits, or None if
    none up to 1024 does. Shapes only grow with the input, so a binary search finds it."""
    layers = _layers(spec)
    c = input_shape[0]
    n = 10 if n_classes is None else n_classes
    lo, hi = 1, 1024
    if not _fits(layers, (c, hi, hi), n):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if _fits(layers, (c, mid, mid), n):
            hi = mid
        else:
            lo = mid + 1
    return lo


def pad_convs(spec) -> list[Layer]:
    """The same layers with every conv padded by dilation·(k − 1) // 2 (odd kernels keep size)."""
    return [
        Layer("conv", {**L.args, "padding": L.args["dilation"] * (L.args["kernel_size"] - 1) // 2})
        if L.kind == "conv"
        else L
        for L in _layers(spec)
    ]


def preset_for(name: str, input_shape, n_classes: int = 10) -> tuple[str, str | None]:
    """A preset's spec for this input, and a note when it had to change: a preset too deep for a
    small input (the Keras net on 16×16 digits) gets every conv padded to keep its size, if that
    fits; otherwise the preset comes back unchanged (check() then says why it cannot work)."""
    if name not in PRESETS:
        raise ArchError(f"{name!r} is not a preset; use one of {', '.join(PRESETS)}.")
    spec = PRESETS[name]
    shape = _check_input_shape(input_shape)
    if _fits(parse(spec), shape, n_classes):
        return spec, None
    padded = pad_convs(spec)
    if _fits(padded, shape, n_classes):
        need = min_input_size(spec, shape, n_classes)
        return to_text(padded), (
            f"{PRESET_INFO[name][0]} needs an input of at least {need}×{need}; on "
            f"{shape[1]}×{shape[2]} every conv is padded so it keeps the size."
        )
    return spec, None


# ---------------------------------------------------------------- build, check, code


class ResidualBlock(nn.Module):
    """x -> conv -> relu -> conv, plus x itself (through a 1×1 conv when the channel count
    changes), -> relu. The skip gives the gradient a path that no conv shrinks."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        p = kernel_size // 2
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size, padding=p)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size, padding=p)
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, 1)
        )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.conv2(self.relu1(self.conv1(x))) + self.skip(x))


def _module(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    a, kind = layer.args, layer.kind
    if kind == "res":
        return ResidualBlock(in_shape[0], a["out_channels"], a["kernel_size"])
    if kind == "conv":
        return nn.Conv2d(
            in_shape[0],
            a["out_channels"],
            a["kernel_size"],
            a["stride"],
            a["padding"],
            a["dilation"],
        )
    if kind == "maxpool":
        return nn.MaxPool2d(a["kernel_size"], a["stride"], a["padding"])
    if kind == "avgpool":
        return nn.AvgPool2d(a["kernel_size"], a["stride"], a["padding"])
    if kind == "linear":
        return nn.Linear(in_shape[0], out_shape[0])
    if kind == "batchnorm":
        return nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])
    if kind == "dropout":
        return nn.Dropout(a["p"])
    if kind == "leaky_relu":
        return nn.LeakyReLU(a["negative_slope"])
    if kind == "gap":
        return nn.AdaptiveAvgPool2d(1)
    return {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,
        "flatten": nn.Flatten,
    }[kind]()


def check(spec, input_shape, n_classes: int) -> list[Row]:
    """The rows of a net that can be trained here, else ArchError: every layer fits, the net ends
    with one score per class, and it is small enough for a shared CPU."""
    layers = _layers(spec)
    shape = _check_input_shape(input_shape)
    n_classes = _check_classes(n_classes)
    rows = _spec_rows(layers, shape, n_classes)
    end = rows[-1].out_shape
    if end != (n_classes,):
        last_fc = [i for i, L in enumerate(layers) if L.kind == "linear"]
        if len(end) == 1 and last_fc and layers[last_fc[-1]].args["out_features"] is not None:
            i = last_fc[-1]
            fixed = [*layers[:i], Layer("linear"), *layers[i + 1 :]]
            raise ArchError(
                f"{_culprit(i, layers[i])}: the last linear layer gives "
                f"{layers[i].args['out_features']} scores, but the data has {n_classes} classes; "
                f"write fc (it then gives one score per class).",
                i,
                fixes=[(f"write fc instead of {layers[i].token}", to_text(fixed))],
            )
        tail = [Layer("linear")] if len(end) == 1 else [Layer("flatten"), Layer("linear")]
        fixed = layers + tail
        raise ArchError(
            f"The net ends with {_fmt_shape(end)} numbers per image, but a classifier must end "
            f"with one score per class ({n_classes}); add -{to_text(tail)} at the end.",
            len(layers) - 1,
            fixes=[(f"add -{to_text(tail)} at the end", to_text(fixed))],
        )
    params = sum(r.params for r in rows)
    if params > MAX_PARAMS:
        big = max(rows, key=lambda r: r.params)
        hint = (
            "add a pool (or a larger stride) before the flatten"
            if big.kind == "linear" and big.in_shape[0] > 2000
            else "use fewer filters or outputs"
        )
        raise ArchError(
            f"The net has {params:,} parameters, more than the {MAX_PARAMS:,} a shared "
            f"classroom CPU trains: the largest is layer {big.index + 1} ({big.name}) with "
            f"{big.params:,}, so {hint}.",
            big.index,
            [hint],
        )
    macs, ops = sum(r.macs for r in rows), sum(r.ops for r in rows)
    if macs + ops > MAX_OPS:
        big = max(rows, key=lambda r: r.macs + r.ops)
        raise ArchError(
            f"The net does {macs + ops:,} operations per image ({macs:,} multiply-adds + "
            f"{ops:,} others), more than the {MAX_OPS:,} a shared classroom CPU trains: the "
            f"costliest is layer {big.index + 1} ({big.name}) with {big.macs + big.ops:,}, so "
            f"use fewer filters, or pool (or stride 2) earlier.",
            big.index,
            ["use fewer filters", "pool earlier"],
        )
    return rows


def _check_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or not 1 <= n_classes <= 1000:
        raise ArchError(f"The number of classes must be a whole number 1-1000, not {n_classes!r}.")
    return n_classes


def build(spec, input_shape, n_classes: int) -> nn.Sequential:
    """The nn.Sequential for a spec (text or layers) on inputs of input_shape (C, H, W), one
    module per layer; ArchError (see `check`) when the net cannot work or is too big."""
    layers = _layers(spec)
    rows = check(layers, input_shape, n_classes)
    return nn.Sequential(
        *(_module(layer, row.in_shape, row.out_shape) for layer, row in zip(layers, rows))
    )


def to_code(spec, input_shape, n_classes: int) -> str:
    """Python source of the same nn.Sequential, with each layer's output shape as a comment."""
    layers = _layers(spec)
    rows = check(layers, input_shape, n_classes)
    c, h, wd = _check_input_shape(input_shape)
    block = []
    if any(layer.kind == "res" for layer in layers):
        import inspect

        block = ["", "", inspect.getsource(ResidualBlock).rstrip(), "", ""]
    lines = [
        "import torch",
        "from torch import nn",
        *block,
        "",
        f"# spec: {to_text(layers)}",
        f"# input: {c} × {h} × {wd} (channels × height × width), {n_classes} classes",
        "model = nn.Sequential(",
    ]
    for layer, row in zip(layers, rows):
        lines.append(f"    {_code(layer, row)},  # {row.index}: -> {_fmt_shape(row.out_shape)}")
    lines += [
        ")",
        "",
        f"x = torch.zeros(2, {c}, {h}, {wd})  # a batch of 2 images",
        f"print(model(x).shape)  # torch.Size([2, {n_classes}]): one score per class",
    ]
    return "\n".join(lines) + "\n"


def _code(layer: Layer, row: Row) -> str:
    a, kind = layer.args, layer.kind
    if kind == "res":
        return f"ResidualBlock({row.in_shape[0]}, {a['out_channels']}, {a['kernel_size']})"
    if kind == "conv":
        return layer_code(
            "conv",
            a["kernel_size"],
            a["stride"],
            a["padding"],
            a["dilation"],
            in_channels=row.in_shape[0],
            out_channels=a["out_channels"],
        )
    if kind in ("maxpool", "avgpool"):
        return layer_code(
            "pool",
            a["kernel_size"],
            a["stride"],
            a["padding"],
            pool="max" if kind == "maxpool" else "avg",
        )
    if kind == "linear":
        return f"nn.Linear({row.in_shape[0]}, {row.out_shape[0]})"
    if kind == "batchnorm":
        return f"nn.BatchNorm{2 if len(row.in_shape) == 3 else 1}d({row.in_shape[0]})"
    if kind == "dropout":
        return f"nn.Dropout(p={a['p']:g})"
    if kind == "leaky_relu":
        return f"nn.LeakyReLU({a['negative_slope']:g})"
    if kind == "gap":
        return "nn.AdaptiveAvgPool2d(1)"
    return {
        "relu": "nn.ReLU()",
        "sigmoid": "nn.Sigmoid()",
        "tanh": "nn.Tanh()",
        "gelu": "nn.GELU()",
        "flatten": "nn.Flatten()",
    }[kind]


# ---------------------------------------------------------------- any nn.Module

_MODULE_KINDS = {
    nn.Conv2d: "conv",
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.GELU: "gelu",
    nn.MaxPool2d: "maxpool",
    nn.AvgPool2d: "avgpool",
    nn.BatchNorm2d: "batchnorm",
    nn.BatchNorm1d: "batchnorm",
    nn.Dropout: "dropout",
    nn.Dropout2d: "dropout",
    nn.Flatten: "flatten",
    nn.Linear: "linear",
    nn.AdaptiveAvgPool2d: "gap",
    ResidualBlock: "res",
}


def module_kind(module: nn.Module) -> str:
    """The cnnviz kind of a torch module (one of KINDS), or "other"."""
    kind = _MODULE_KINDS.get(type(module), "other")
    if kind == "gap" and _pair(module.output_size) != (1, 1):
        return "other"
    return kind


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def layer_of(module: nn.Module) -> Layer | None:
    """The Layer a torch module is, when the spec can say it exactly (square kernels, bias on,
    no groups...), else None."""
    kind = module_kind(module)
    try:
        if kind == "conv":
            m = module
            k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
            p = m.padding if isinstance(m.padding, str) else _pair(m.padding)
            if (
                len({*k}) == 1
                and len({*s}) == 1
                and len({*d}) == 1
                and not isinstance(p, str)
                and len({*p}) == 1
                and m.groups == 1
                and m.bias is not None
                and m.padding_mode == "zeros"
            ):
                return Layer(
                    "conv",
                    dict(
                        out_channels=m.out_channels,
                        kernel_size=k[0],
                        stride=s[0],
                        padding=p[0],
                        dilation=d[0],
                    ),
                )
            return None
        if kind in ("maxpool", "avgpool"):
            m = module
            k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
            if len({*k}) == 1 and len({*s}) == 1 and len({*p}) == 1 and not m.ceil_mode:
                if kind == "maxpool" and _pair(m.dilation) != (1, 1):
                    return None
                if kind == "avgpool" and (not m.count_include_pad or m.divisor_override):
                    return None
                return Layer(kind, dict(kernel_size=k[0], stride=s[0], padding=p[0]))
            return None
        if kind == "linear":
            return Layer("linear", {"out_features": module.out_features})
        if kind == "res":
            return Layer(
                "res",
                {
                    "out_channels": module.conv1.out_channels,
                    "kernel_size": _pair(module.conv1.kernel_size)[0],
                },
            )
        if kind == "dropout":
            return Layer("dropout", {"p": module.p}) if type(module) is nn.Dropout else None
        if kind == "leaky_relu":
            return Layer("leaky_relu", {"negative_slope": module.negative_slope})
        if kind == "flatten":
            return Layer("flatten") if (module.start_dim, module.end_dim) == (1, -1) else None
        if kind == "other":
            return None
        return Layer(kind)
    except ArchError:
        return None


def module_name(module: nn.Module) -> str:
    """Short name: the spec token when the module is one, else its class name."""
    layer = layer_of(module)
    return layer.token if layer is not None else type(module).__name__


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for item in out:
            t = _first_tensor(item)
            if t is not None:
                return t
    if isinstance(out, dict):
        for item in out.values():
            t = _first_tensor(item)
            if t is not None:
                return t
    return None


def rows_of(model: nn.Module) -> list[nn.Module]:
    """The modules a table or a probe shows: the top-level layers of an nn.Sequential, else
    every leaf module (no children), in the order they were registered."""
    if isinstance(model, nn.Sequential):
        return list(model.children())
    leaves = [m for m in model.modules() if not list(m.children())]
    return leaves or [model]


def _module_summary(model: nn.Module, input_shape: Shape) -> list[Row]:
    """Rows from running the model once on zeros (real torch shapes). An nn.Sequential is a
    chain: forward hooks on its layers, the receptive field layer after layer. Any other module
    may branch (a ResNet's shortcut), so it is traced (torch.fx) and the field follows the real
    graph: each layer grows the field of the tensor it consumed, a merge (add, cat) keeps the
    larger field. A module fx cannot trace gets hooks and no receptive field."""
    shape = _check_input_shape(input_shape)
    if not isinstance(model, nn.Sequential):
        traced = _traced_summary(model, shape)
        if traced is not None:
            return traced
    calls: list[tuple[nn.Module, Shape, Shape]] = []

    def hook(module, inputs, output):
        t_in, t_out = _first_tensor(inputs), _first_tensor(output)
        if t_in is not None and t_out is not None:
            calls.append((module, tuple(t_in.shape[1:]), tuple(t_out.shape[1:])))

    handles = [m.register_forward_hook(hook) for m in rows_of(model)]
    try:
        _run_on_zeros(model, shape, model)
    finally:
        for h in handles:
            h.remove()
    rows: list[Row] = []
    seen: set[int] = set()
    w = _Walker(shape)
    chain = isinstance(model, nn.Sequential)
    for i, (m, in_shape, out_shape) in enumerate(calls):
        first_call = id(m) not in seen
        seen.add(id(m))
        row = _module_row(i, m, in_shape, out_shape, w, first_call)
        if not chain:  # the call order of a branched net is not its graph: no field is known
            row.receptive_field = None
        rows.append(row)
    return rows


_UNKNOWN = "unknown"  # a spatial op cnnviz cannot follow: no field from here on
_FLAT = "flat"  # not a feature map any more: every number depends on the whole image


def _merge(fields: list) -> object:
    """The field of a tensor made from several (add, cat, mul...): the larger one."""
    maps = [f for f in fields if isinstance(f, tuple)]
    if _UNKNOWN in fields:
        return _UNKNOWN
    if not maps:
        return _FLAT if _FLAT in fields else None
    if _FLAT in fields:
        return _FLAT
    return max(maps, key=lambda f: (f[0] + f[1], f[0]))


def _grow(field: tuple, k, s, d) -> tuple:
    """(r_h, r_w, j_h, j_w) after a window k, stride s, dilation d (pairs)."""
    rh, rw, jh, jw = field
    return (rh + d[0] * (k[0] - 1) * jh, rw + d[1] * (k[1] - 1) * jw, jh * s[0], jw * s[1])


class _LeafTracer(torch.fx.Tracer):
    """Every module without children is one node, as the table has one row per leaf."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return not list(m.children()) or super().is_leaf_module(m, qualname)


def _traced_summary(model: nn.Module, shape: Shape) -> list[Row] | None:
    """Rows of a module traced with torch.fx, fields along its graph; None if it cannot be
    traced (data-dependent control flow...)."""
    try:
        graph = _LeafTracer().trace(model)
        gm = torch.fx.GraphModule(model, graph)
    except Exception:  # noqa: BLE001 - any user module may refuse to be traced
        return None
    calls: list[tuple[nn.Module, Shape, Shape, object]] = []

    class Run(torch.fx.Interpreter):
        def __init__(self, module):
            super().__init__(module)
            self.fields: dict = {}

        def run_node(self, n):
            out = super().run_node(n)
            t_out = _first_tensor(out)
            ins = [self.fields.get(a) for a in n.all_input_nodes]
            if n.op == "placeholder":
                field = (1, 1, 1, 1) if t_out is not None and t_out.dim() == 4 else None
            elif t_out is None or n.op == "get_attr" or all(f is None for f in ins):
                field = None  # sizes, constants, parameters: not made from the image
            elif t_out.dim() != 4:
                field = _FLAT if _merge(ins) != _UNKNOWN else _UNKNOWN
            else:
                field = self._field(n, t_out, ins)
            self.fields[n] = field
            if n.op == "call_module":
                args, _ = self.fetch_args_kwargs_from_env(n)
                t_in = _first_tensor(args)
                if t_in is not None and t_out is not None:
                    m = self.fetch_attr(n.target)
                    calls.append((m, tuple(t_in.shape[1:]), tuple(t_out.shape[1:]), field))
            return out

        def _field(self, n, t_out, ins) -> object:
            field = _merge(ins)
            if not isinstance(field, tuple):
                return field
            sizes = {
                tuple(self.env[a].shape[2:])
                for a in n.all_input_nodes
                if isinstance(self.env.get(a), torch.Tensor) and self.env[a].dim() == 4
            }
            kind = module_kind(self.fetch_attr(n.target)) if n.op == "call_module" else None
            if kind == "conv":
                m = self.fetch_attr(n.target)
                return _grow(field, _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation))
            if kind in ("maxpool", "avgpool"):
                m = self.fetch_attr(n.target)
                k = _pair(m.kernel_size)
                s = _pair(m.stride or m.kernel_size)
                return _grow(field, k, s, _pair(getattr(m, "dilation", 1)))
            if kind == "gap":
                ((h, w_),) = sizes or {(1, 1)}
                return (field[0] + (h - 1) * field[2], field[1] + (w_ - 1) * field[3], *field[2:])
            if sizes == {tuple(t_out.shape[2:])}:
                return field  # elementwise, batch norm, an add or a cat of same-size maps
            return _UNKNOWN

    _run_on_zeros(model, shape, Run(gm).run)
    rows: list[Row] = []
    seen: set[int] = set()
    for i, (m, in_shape, out_shape, state) in enumerate(calls):
        first_call = id(m) not in seen
        seen.add(id(m))
        row = _module_row(i, m, in_shape, out_shape, _Walker(shape), first_call)
        row.receptive_field = _field(list(state[:2])) if isinstance(state, tuple) else None
        rows.append(row)
    return rows


def _module_row(i, m: nn.Module, in_shape, out_shape, w: _Walker, count_params: bool) -> Row:
    kind = module_kind(m)
    if kind == "res" and count_params and w.r != [0, 0] and len(in_shape) == 3:
        row = _res_row(i, layer_of(m), w, in_shape)  # the same row as the spec's
        row.module = type(m).__name__
        return row
    size_formula = None
    per_out = 1
    if kind == "conv":
        k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
        per_out = (m.in_channels // m.groups) * k[0] * k[1]
        try:
            size_formula = _size_formula(
                output_size(
                    in_shape[1:], k, s, m.padding, d, op="conv", padding_mode=m.padding_mode
                )
            )
        except SettingError:
            size_formula = None
        _spatial_module(w, k, s, m.padding, d)
    elif kind in ("maxpool", "avgpool"):
        k = _pair(m.kernel_size)
        s = _pair(m.stride or m.kernel_size)
        d = _pair(getattr(m, "dilation", 1))
        per_out = k[0] * k[1]
        try:
            size_formula = _size_formula(
                output_size(in_shape[1:], k, s, m.padding, d, op="pool", ceil_mode=m.ceil_mode)
            )
        except SettingError:
            size_formula = None
        _spatial_module(w, k, s, 0, d)
    elif kind == "gap" and len(in_shape) == 3:
        w.r = [w.r[0] + (in_shape[1] - 1) * w.j[0], w.r[1] + (in_shape[2] - 1) * w.j[1]]
    elif kind == "linear":
        per_out = m.in_features
    if (kind in ("flatten", "linear") or len(out_shape) != 3) and w.flat_at is None:
        w.flat_at = i
    if kind == "other" and len(out_shape) == 3 and len(in_shape) == 3:
        if out_shape[1:] != in_shape[1:]:
            w.r = [0, 0]  # unknown spatial op: the receptive field is not known from here on
    weight_dims: tuple = ()
    bias = extra = 0
    if count_params:
        for pname, p in m.named_parameters():
            if pname == "weight":
                weight_dims = tuple(p.shape)
            elif pname == "bias":
                bias = p.numel()
            else:
                extra += p.numel()
    weights, biases, params, pformula = _params_formula(kind, weight_dims, bias, extra)
    if not count_params:
        pformula = "shared with an earlier call of the same module (counted there)"
    if kind == "other":
        macs, ops, fformula = 0, 0, "not counted (a module cnnviz does not know)"
    else:
        macs, ops, fformula = _cost(kind, in_shape, out_shape, per_out)
    rf = w.rf if w.r != [0, 0] else None
    layer = layer_of(m)
    return Row(
        i,
        module_name(m),
        kind,
        out_shape,
        weights,
        biases,
        params,
        pformula,
        macs,
        ops,
        rf,
        size_formula,
        in_shape,
        layer.title if layer else type(m).__name__,
        fformula,
        repr(m) if len(repr(m)) < 200 else type(m).__name__,
    )


def _spatial_module(w: _Walker, k, s, padding, d) -> None:
    if w.r == [0, 0]:
        return
    for a in range(2):
        w.r[a] += d[a] * (k[a] - 1) * w.j[a]
        w.j[a] *= s[a]


def summarize(model_or_spec, input_shape, n_classes: int | None = None) -> list[Row]:
    """One Row per layer: output shape, parameters (with the arithmetic), multiply-adds and other
    operations, receptive field,
    and for conv/pool rows the output-size formula with its numbers.

    A spec (text or layers) is computed from its settings (an impossible layer is an ArchError
    naming it, with fixes; the final fc without a size gives n_classes scores, 10 if None). Any
    other torch.nn.Module is run once on zeros with forward hooks on its top-level layers (an
    nn.Sequential) or its leaf modules, so the shapes are torch's own."""
    if isinstance(model_or_spec, nn.Module):
        return _module_summary(model_or_spec, input_shape)
    layers = _layers(model_or_spec)
    shape = _check_input_shape(input_shape)
    return _spec_rows(layers, shape, 10 if n_classes is None else _check_classes(n_classes))


def totals(rows: list[Row]) -> dict:
    """Sums for the table's last line: params, weights, biases, macs (multiply-adds of conv
    and linear layers), ops (the other layers' operations)."""
    return {
        "params": sum(r.params for r in rows),
        "weights": sum(r.weights for r in rows),
        "biases": sum(r.biases for r in rows),
        "macs": sum(r.macs for r in rows),
        "ops": sum(r.ops for r in rows),
    }


def format_rows(rows: list[Row], input_shape=None, order: str = "CHW") -> str:
    """A plain-text table of the rows (like Keras' model.summary()) for a terminal or notebook:
    multiply-adds (MACs, conv and linear) and the other layers' operations in columns of their
    own. order "HWC" writes shapes as Keras does (height × width × channels)."""
    head = ("#", "layer", "output", "params", "MACs", "other ops", "field")
    body = []
    if input_shape is not None:
        body.append(("", "input", shape_text(input_shape, order), "", "", "", ""))
    for r in rows:
        rf = r.receptive_field
        field_text = (
            "all" if rf is None else (f"{rf}" if isinstance(rf, int) else f"{rf[0]}×{rf[1]}")
        )
        body.append(
            (
                str(r.index + 1),
                r.name,
                shape_text(r.out_shape, order),
                f"{r.params:,}",
                f"{r.macs:,}",
                f"{r.ops:,}",
                field_text,
            )
        )
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    right = {0, 3, 4, 5, 6}

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    t = totals(rows)
    rule = "-" * len(line(head))
    return "\n".join(
        [
            line(head),
            rule,
            *(line(b) for b in body),
            rule,
            f"{t['params']:,} parameters ({t['weights']:,} weights + {t['biases']:,} biases), "
            f"{t['macs']:,} multiply-adds (MACs; {2 * t['macs']:,} FLOPs as torch counts them) + "
            f"{t['ops']:,} other operations per image",
        ]
    )


def _run_on_zeros(model: nn.Module, shape: Shape, forward) -> None:
    """Call `forward` (the model itself, or an fx interpreter of it) once on a zero input of
    `shape`, in eval mode without gradients, then give every layer its train/eval flag back. A
    failure is an ArchError naming the input shape."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else "cpu"
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        with torch.no_grad():
            forward(torch.zeros((1, *shape), device=device, dtype=dtype))
    except Exception as err:  # noqa: BLE001 - a user's module can fail in any way
        raise ArchError(
            f"The model does not run on a {_fmt_shape(shape)} input: {str(err).splitlines()[0]}"
        ) from None
    finally:
        for m, training in modes:
            m.training = training
