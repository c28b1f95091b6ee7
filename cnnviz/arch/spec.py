"""The grammar: a CNN as a short text that fits in a URL, and back.

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
"""

from __future__ import annotations

import difflib
import re

from cnnviz.arch.layer import (
    ALIASES,
    FLOAT_ARGS,
    MAX_LAYERS,
    MAX_TEXT,
    OPTIONS,
    RANGES,
    TOKEN,
    ArchError,
    Layer,
    culprit,
    number_token,
)
from cnnviz.arch.presets import DEFAULT_PRESET, PRESETS

_SPLIT = re.compile(r"[\s,>→\-]+")
_OPTION = re.compile(r"([a-z]?)(\d+(?:\.\d+)?|\.\d+)")


def _kind_list() -> str:
    return "conv8k3, relu, lrelu, sigmoid, tanh, gelu, max2, avg2, bn, drop0.5, flat, gap, fc64"


def parse_token(tok: str, index: int) -> Layer:
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
    check_layer(layer, index)
    return layer


def check_layer(layer: Layer, index: int) -> None:
    """Each number inside its range; a message naming the layer and the range."""
    group = "pool" if layer.kind in ("maxpool", "avgpool") else layer.kind
    where = culprit(index, layer)
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
                hint = f" (a fraction: did you mean drop{number_token(value / 100)}?)"
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
    layers = [parse_token(tok, i) for i, tok in enumerate(tokens)]
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


def as_layers(spec) -> list[Layer]:
    """The layers of a spec (text, a Layer or a list of them), each checked against RANGES;
    a list given directly is never changed."""
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
        check_layer(layer, i)
    _check_count(len(layers))
    return layers
