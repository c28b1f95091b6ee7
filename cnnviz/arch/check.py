"""The entry points: the table of a spec or of any module (`summarize`), whether a net can be
trained here (`check`: it fits, ends with one score per class, and is small enough for a shared
CPU), the nn.Sequential of a spec (`build`) and its Python source (`to_code`, each line the
code text of the module `build` makes).
"""

from __future__ import annotations

import inspect

from torch import nn

from cnnviz.arch.fixes import explained_rows
from cnnviz.arch.layer import MAX_OPS, MAX_PARAMS, ArchError, Layer, culprit
from cnnviz.arch.module_summary import module_summary
from cnnviz.arch.modules import ResidualBlock, module_for
from cnnviz.arch.spec import as_layers, to_text
from cnnviz.arch.summary import check_input_shape
from cnnviz.arch.table import Row, fmt_shape


def summarize(model_or_spec, input_shape, n_classes: int | None = None) -> list[Row]:
    """One Row per layer: output shape, parameters (with the arithmetic), multiply-adds and other
    operations, receptive field, and for conv/pool rows the output-size formula with its numbers.

    A spec (text or layers) is computed from its settings (an impossible layer is an ArchError
    naming it, with fixes; the final fc without a size gives n_classes scores, 10 if None). Any
    other torch.nn.Module is run once on zeros with forward hooks on its top-level layers (an
    nn.Sequential) or its leaf modules, so the shapes are torch's own."""
    if isinstance(model_or_spec, nn.Module):
        return module_summary(model_or_spec, check_input_shape(input_shape))
    layers = as_layers(model_or_spec)
    shape = check_input_shape(input_shape)
    return explained_rows(layers, shape, 10 if n_classes is None else check_classes(n_classes))


def check(spec, input_shape, n_classes: int) -> list[Row]:
    """The rows of a net that can be trained here, else ArchError: every layer fits, the net ends
    with one score per class, and it is small enough for a shared CPU."""
    layers = as_layers(spec)
    shape = check_input_shape(input_shape)
    n_classes = check_classes(n_classes)
    rows = explained_rows(layers, shape, n_classes)
    end = rows[-1].out_shape
    if end != (n_classes,):
        last_fc = [i for i, L in enumerate(layers) if L.kind == "linear"]
        if len(end) == 1 and last_fc and layers[last_fc[-1]].args["out_features"] is not None:
            i = last_fc[-1]
            fixed = [*layers[:i], Layer("linear"), *layers[i + 1 :]]
            raise ArchError(
                f"{culprit(i, layers[i])}: the last linear layer gives "
                f"{layers[i].args['out_features']} scores, but the data has {n_classes} classes; "
                f"write fc (it then gives one score per class).",
                i,
                fixes=[(f"write fc instead of {layers[i].token}", to_text(fixed))],
            )
        tail = [Layer("linear")] if len(end) == 1 else [Layer("flatten"), Layer("linear")]
        fixed = layers + tail
        raise ArchError(
            f"The net ends with {fmt_shape(end)} numbers per image, but a classifier must end "
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


def check_classes(n_classes) -> int:
    """The number of classes as given, or an ArchError: a whole number 1-1000."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or not 1 <= n_classes <= 1000:
        raise ArchError(f"The number of classes must be a whole number 1-1000, not {n_classes!r}.")
    return n_classes


def build(spec, input_shape, n_classes: int) -> nn.Sequential:
    """The nn.Sequential for a spec (text or layers) on inputs of input_shape (C, H, W), one
    module per layer; ArchError (see `check`) when the net cannot work or is too big."""
    layers = as_layers(spec)
    rows = check(layers, input_shape, n_classes)
    return nn.Sequential(
        *(module_for(L, row.in_shape, row.out_shape) for L, row in zip(layers, rows))
    )


def to_code(spec, input_shape, n_classes: int) -> str:
    """Python source of the same nn.Sequential, with each layer's output shape as a comment."""
    layers = as_layers(spec)
    rows = check(layers, input_shape, n_classes)
    c, h, wd = check_input_shape(input_shape)
    block = []
    if any(layer.kind == "res" for layer in layers):
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
    for row in rows:
        lines.append(f"    {row.module},  # {row.index}: -> {fmt_shape(row.out_shape)}")
    lines += [
        ")",
        "",
        f"x = torch.zeros(2, {c}, {h}, {wd})  # a batch of 2 images",
        f"print(model(x).shape)  # torch.Size([2, {n_classes}]): one score per class",
    ]
    return "\n".join(lines) + "\n"
