"""The one walker behind every layer table: a `Row` per `Op` (shape, parameters, multiply-adds,
receptive field, and the arithmetic of each), whether the ops come from spec layers (computed
from their settings, no torch run: `spec_rows`) or from a torch module run once on zeros
(`cnnviz.arch.module_summary`). Both sides count with the same functions below.

Receptive field: input pixels (per side) that one output unit sees, by the standard recurrence
(`cnnviz.receptive_field.grow_field`: r += (k_eff − 1)·jump); it may exceed the image when padding is
used; None once the map is flattened (every number then depends on the whole image). A module
with branches (a ResNet's shortcut) is followed along its graph: a layer grows the field of the
tensor it consumed, and where branches merge (add, cat) the larger field wins (`merge`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cnnviz.arch.layer import TITLES, ArchError, Layer, culprit
from cnnviz.arch.modules import code_for
from cnnviz.arch.spec import to_text
from cnnviz.arch.table import Row, Shape, fmt_shape
from cnnviz.receptive_field import grow_field
from cnnviz.shapes import SettingError, output_size

START = ((1, 1), (1, 1))  # (field, jump) of the input: one pixel, one pixel apart
UNKNOWN = "unknown"  # a spatial op cnnviz cannot follow: no field from here on
FLAT = "flat"  # not a feature map any more: every number depends on the whole image
SHARED = "shared with an earlier call of the same module (counted there)"  # its parameters


@dataclass
class Op:
    """One layer as the table counts it, read from a spec Layer or from a torch module."""

    index: int
    name: str
    kind: str
    title: str
    in_shape: Shape
    out_shape: Shape
    params: tuple[int, int, int, str]  # weights, biases, params, the arithmetic
    cost: tuple[int, int, str]  # multiply-adds, other operations, the arithmetic
    size_formula: str | None = None
    windows: tuple = ()  # (kernel, stride, dilation) of each window it slides, in order
    module: str = ""


# ---------------------------------------------------------------- counting, for both sides


def param_counts(kind: str, weight_dims: tuple, bias: int, extra: int = 0) -> tuple:
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


def size_text(out) -> str:
    """The output-size formula of a conv or pool (a shapes.OutputSize) with its numbers."""
    dims = out.dims[:1] if out.symmetric else out.dims
    if len(dims) == 1:
        return f"height and width: {dims[0].formula}"
    return "; ".join(f"{d.axis}: {d.formula}" for d in dims)


def cost(kind: str, in_shape: Shape, out_shape: Shape, per_out: int = 1) -> tuple[int, int, str]:
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


def res_op(i: int, layer: Layer, in_shape: Shape, count_params: bool = True) -> Op:
    """A residual block: the same map size, two convs' parameters (plus a 1×1 projection when
    the channel count changes), the receptive field of its longer path (two convs)."""
    c, k = layer.args["out_channels"], layer.args["kernel_size"]
    cin, h, wd = in_shape
    conv1, conv2 = c * cin * k * k, c * c * k * k
    proj = c * cin if cin != c else 0
    weights, biases = conv1 + conv2 + proj, 2 * c + (c if proj else 0)
    formula = (
        f"{c} × {cin} × {k} × {k} + {c} × {c} × {k} × {k} weights"
        + (f" + {c} × {cin} projection weights" if proj else "")
        + f" + {biases} biases = {weights + biases}"
    )
    params = (weights, biases, weights + biases, formula) if count_params else (0, 0, 0, SHARED)
    per_out = cin * k * k + c * k * k + (cin if proj else 0)
    n_out = c * h * wd
    macs = n_out * per_out
    paths = "both convs" + (", projection" if proj else "")
    return Op(
        i,
        layer.token,
        "res",
        layer.title,
        in_shape,
        (c, h, wd),
        params,
        (macs, 0, f"{n_out} outputs × {per_out} multiply-adds ({paths}) = {macs}"),
        f"height and width: the same ({h}×{wd}): each conv pads {k // 2} = ({k} − 1) / 2",
        ((k, 1, 1), (k, 1, 1)),
    )


# ---------------------------------------------------------------- the walker


def advance(field, op: Op):
    """The receptive field after `op`, from the field of the tensor it consumed: (size, jump)
    pairs while it is a map cnnviz can follow, else FLAT, UNKNOWN or None (not from the image)."""
    if not isinstance(field, tuple):
        return field
    if op.kind in ("flatten", "linear") or len(op.out_shape) != 3:
        return FLAT
    windows = op.windows
    if op.kind == "gap" and len(op.in_shape) == 3:
        windows = ((op.in_shape[1:], 1, 1),)  # a window of the whole map
    for k, s, d in windows:
        field = grow_field(*field, k, s, d)
    if windows or op.in_shape[1:] == op.out_shape[1:]:
        return field
    return UNKNOWN


def merge(fields: list):
    """The field of a tensor made from several (add, cat, mul...): the larger one."""
    maps = [f for f in fields if isinstance(f, tuple)]
    if UNKNOWN in fields:
        return UNKNOWN
    if not maps:
        return FLAT if FLAT in fields else None
    if FLAT in fields:
        return FLAT
    return max(maps, key=lambda f: (f[0][0] + f[0][1], f[0][0]))


def to_row(op: Op, field) -> Row:
    """The table row of one op, its receptive field given (the walker's state after it)."""
    if isinstance(field, tuple):
        (rh, rw), _ = field
        rf = rh if rh == rw else (rh, rw)
    else:
        rf = None
    weights, biases, params, params_formula = op.params
    macs, ops, cost_formula = op.cost
    return Row(
        index=op.index,
        name=op.name,
        kind=op.kind,
        out_shape=op.out_shape,
        weights=weights,
        biases=biases,
        params=params,
        params_formula=params_formula,
        macs=macs,
        ops=ops,
        receptive_field=rf,
        size_formula=op.size_formula,
        in_shape=op.in_shape,
        title=op.title,
        cost_formula=cost_formula,
        module=op.module,
    )


def walk(ops: Iterable[Op]) -> list[Row]:
    """The rows of a chain of ops (each consumes the one before), the field growing along."""
    field, rows = START, []
    for op in ops:
        field = advance(field, op)
        rows.append(to_row(op, field))
    return rows


# ---------------------------------------------------------------- spec layers -> ops


def check_input_shape(input_shape) -> Shape:
    """(channels, height, width) as ints, or an ArchError saying what an input shape is."""
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


class Unfit(ArchError):
    """A spec layer that cannot work, with what `cnnviz.arch.fixes` needs to find fixes: the
    changes of the layer worth trying, or the SettingError of the shapes module."""

    def __init__(self, message, layer, shape, candidates=(), setting: SettingError | None = None):
        super().__init__(message, layer)
        self.shape = shape  # what the layer gets
        self.candidates = list(candidates)
        self.setting = setting


def spec_rows(layers: list[Layer], input_shape: Shape, n_classes: int, code=True) -> list[Row]:
    """Rows computed from the settings alone (no torch run); an ArchError (Unfit when fixes may
    be found) at the first impossible layer. With `code`, each row's PyTorch code text (the
    code of the module the layer builds)."""
    rows = walk(_spec_ops(layers, input_shape, n_classes))
    if code:
        for row, layer in zip(rows, layers):
            row.module = code_for(layer, row.in_shape, row.out_shape)
    return rows


def _spec_ops(layers: list[Layer], shape: Shape, n_classes: int) -> Iterator[Op]:
    last_fc = max((i for i, L in enumerate(layers) if L.kind == "linear"), default=None)
    flat_at = None
    for i, layer in enumerate(layers):
        if layer.kind in ("conv", "maxpool", "avgpool", "gap", "res") and len(shape) != 3:
            raise Unfit(
                f"{culprit(i, layer)}: {TITLES[layer.kind].lower()} needs a feature map "
                f"(channels × height × width), but after the flatten at layer {flat_at + 1} it "
                f"gets a flat vector of {shape[0]} numbers; move it before the flatten.",
                i,
                shape,
                ["remove"],
            )
        if layer.kind == "linear" and len(shape) != 1:
            fixed = [*layers[:i], Layer("flatten"), *layers[i:]]
            raise ArchError(
                f"{culprit(i, layer)}: a linear layer needs a flat vector, but it gets a "
                f"{fmt_shape(shape)} feature map; add flat before it.",
                i,
                fixes=[("add flat before it", to_text(fixed))],
            )
        if layer.kind == "flatten" and flat_at is None:
            flat_at = i
        op = _spec_op(i, layer, shape, n_classes, i == last_fc)
        shape = op.out_shape
        yield op


def _spec_op(i: int, layer: Layer, shape: Shape, n_classes: int, is_last_fc: bool) -> Op:
    kind, a = layer.kind, layer.args
    size_formula, windows = None, ()
    weight_dims: tuple = ()
    bias = 0
    per_out = 1
    if kind in ("conv", "maxpool", "avgpool"):
        k, s, p = a["kernel_size"], a["stride"], a["padding"]
        d = a.get("dilation", 1)
        try:
            out = output_size(shape[1:], k, s, p, d, op="conv" if kind == "conv" else "pool")
        except SettingError as err:
            raise Unfit(str(err), i, shape, setting=err) from None
        size_formula, windows = size_text(out), ((k, s, d),)
        if kind == "conv":
            out_shape = (a["out_channels"], *out.size)
            weight_dims, bias = (a["out_channels"], shape[0], k, k), a["out_channels"]
            per_out = shape[0] * k * k
        else:
            out_shape = (shape[0], *out.size)
            per_out = k * k
    elif kind == "gap":
        out_shape = (shape[0], 1, 1)
    elif kind == "flatten":
        out_shape = (math.prod(shape),)
    elif kind == "linear":
        n = a["out_features"]
        if n is None:
            if not is_last_fc:
                raise Unfit(
                    f"{culprit(i, layer)}: only the last linear layer may leave out its size (it "
                    f"then gives one score per class); write e.g. fc64.",
                    i,
                    shape,
                    ["fc64"],
                )
            n = n_classes
        out_shape = (n,)
        weight_dims, bias = (n, shape[0]), n
        per_out = shape[0]
    elif kind == "batchnorm":
        out_shape = shape
        weight_dims, bias = (shape[0],), shape[0]
    elif kind == "res":
        if a["kernel_size"] % 2 == 0:
            c, k = a["out_channels"], a["kernel_size"]
            raise ArchError(
                f"{culprit(i, layer)}: a residual block needs an odd kernel (1, 3, 5, 7) so its "
                f"convs keep the map's size and the skip can be added; it has {k}.",
                i,
                [f"res{c}k{k + 1}"],
            )
        return res_op(i, layer, shape)
    else:
        out_shape = shape
    return Op(
        i,
        layer.token,
        kind,
        layer.title,
        shape,
        out_shape,
        param_counts(kind, weight_dims, bias),
        cost(kind, shape, out_shape, per_out),
        size_formula,
        windows,
    )
