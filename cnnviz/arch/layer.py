"""One layer of a CNN as cnnviz knows it: its kind, its settings (torch argument names) with
their defaults and ranges, its token in the spec text and its title in words; and ArchError,
the one error of the architecture code.

Caps for a shared classroom CPU: at most MAX_LAYERS layers and MAX_TEXT characters of text,
MAX_PARAMS parameters and MAX_OPS operations (multiply-adds + other operations) per image.
Ranges (RANGES): conv filters 1-512, kernel 1-15, stride 1-8, padding 0-15, dilation 1-8; pool
window 1-16, stride 1-16, padding 0-8 and at most half the window (torch's rule); fc 1-8192.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnviz.numbers import fixed

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
            text += number_token(a["negative_slope"])
        elif kind == "dropout" and a["p"] != DEFAULTS[kind]["p"]:
            text += number_token(a["p"])
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


def number_token(value: float) -> str:
    """A layer argument as the grammar writes it: drop0.5, lrelu0.01."""
    return fixed(value, 4)


def culprit(index: int, layer: Layer) -> str:
    """How a message names a layer: "Layer 5 (max2)" (index is 0-based)."""
    return f"Layer {index + 1} ({layer.token})"
