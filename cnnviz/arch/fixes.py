"""When a net cannot work: the culprit layer, why, and fixes that were checked to work (whole
spec texts); the smallest input a net fits; every conv padded; a preset adapted to the input.

A refusal is an ArchError: one sentence naming the layer ("Layer 5 (max2): ..."), `.layer` its
0-based index, `.suggestions` the fixes in words, `.fixes` (words, whole spec text that was
checked to work, or None).
"""

from __future__ import annotations

import re

from cnnviz.arch.layer import ArchError, Layer, culprit
from cnnviz.arch.presets import PRESET_INFO, PRESETS
from cnnviz.arch.spec import as_layers, check_layer, parse, parse_token, to_text
from cnnviz.arch.summary import Unfit, check_input_shape, spec_rows
from cnnviz.arch.table import Row, Shape


def explained_rows(layers: list[Layer], input_shape: Shape, n_classes: int) -> list[Row]:
    """The rows of a spec; at the first layer that cannot work, an ArchError whose message and
    `fixes` say what would (each fix checked on the whole net)."""
    try:
        return spec_rows(layers, input_shape, n_classes)
    except Unfit as err:
        i = err.layer
        if err.setting is not None:
            raise _impossible(i, err, layers, input_shape, n_classes) from None
        fixes = _try_fixes(layers, i, input_shape, n_classes, err.candidates)
        raise ArchError(str(err), i, fixes=fixes) from None


def _impossible(i: int, err: Unfit, layers, input_shape, n_classes) -> ArchError:
    """The culprit, why (the shapes module's words) and fixes that make the whole net work."""
    layer, shape = layers[i], err.shape
    k = layer.args["kernel_size"]
    what = f"{k}×{k} filters do" if layer.kind == "conv" else f"{k}×{k} window does"
    reason = str(err.setting)
    candidates: list = []
    for f in err.setting.fixes:
        changes = dict(f.changes)
        if "padding" in changes or "kernel_size" in changes:
            candidates.append(changes)
    candidates.append("remove")
    fixes = _try_fixes(layers, i, input_shape, n_classes, candidates)
    padded = pad_convs(layers)
    if padded != layers and fits(padded, input_shape, n_classes):
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
        f"{culprit(i, layer)}: its {what} not fit the {shape[1]}×{shape[2]} map it gets "
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
            new = [*layers[:i], parse_token(c, i), *layers[i + 1 :]]
            words = f"write {c} instead of {layers[i].token}"
        else:
            try:
                changed = Layer(layers[i].kind, {**layers[i].args, **c})
                check_layer(changed, i)
            except ArchError:
                continue
            if changed.kind in ("maxpool", "avgpool") and "kernel_size" in c:
                if layers[i].args["stride"] == layers[i].args["kernel_size"]:
                    changed = Layer(changed.kind, {**changed.args, "stride": c["kernel_size"]})
            new = [*layers[:i], changed, *layers[i + 1 :]]
            words = f"{changed.token} instead of {layers[i].token}"
        if new and fits(new, input_shape, n_classes):
            out.append((words, to_text(new)))
    return out


def fits(layers: list[Layer], input_shape: Shape, n_classes: int) -> bool:
    """Whether every layer fits the shape it gets (not the caps: see `check`)."""
    try:
        spec_rows(layers, input_shape, n_classes, code=False)
    except ArchError:
        return False
    return True


def min_input_size(spec, input_shape, n_classes: int | None = None) -> int | None:
    """The smallest square input side (same channels) on which every layer fits, or None if
    none up to 1024 does. Shapes only grow with the input, so a binary search finds it."""
    layers = as_layers(spec)
    c = input_shape[0]
    n = 10 if n_classes is None else n_classes
    lo, hi = 1, 1024
    if not fits(layers, (c, hi, hi), n):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(layers, (c, mid, mid), n):
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
        for L in as_layers(spec)
    ]


def preset_for(name: str, input_shape, n_classes: int = 10) -> tuple[str, str | None]:
    """A preset's spec for this input, and a note when it had to change: a preset too deep for a
    small input (the Keras net on 16×16 digits) gets every conv padded to keep its size, if that
    fits; otherwise the preset comes back unchanged (check() then says why it cannot work)."""
    if name not in PRESETS:
        raise ArchError(f"{name!r} is not a preset; use one of {', '.join(PRESETS)}.")
    spec = PRESETS[name]
    shape = check_input_shape(input_shape)
    if fits(parse(spec), shape, n_classes):
        return spec, None
    padded = pad_convs(spec)
    if fits(padded, shape, n_classes):
        need = min_input_size(spec, shape, n_classes)
        return to_text(padded), (
            f"{PRESET_INFO[name][0]} needs an input of at least {need}×{need}; on "
            f"{shape[1]}×{shape[2]} every conv is padded so it keeps the size."
        )
    return spec, None
