"""The layer table of any torch module, from running it once on zeros (real torch shapes): each
module call becomes an `Op` counted by the same functions as a spec layer, and the one walker
(`cnnviz.arch.summary`) makes the rows.

An nn.Sequential is a chain: forward hooks on its layers, the receptive field layer after layer.
Any other module may branch (a ResNet's shortcut), so it is traced (torch.fx) and the field
follows the real graph: each layer grows the field of the tensor it consumed, a merge (add, cat)
keeps the larger field. A module fx cannot trace gets hooks and no receptive field.
"""

from __future__ import annotations

import torch
import torch.fx
from torch import nn

from cnnviz.arch.layer import ArchError
from cnnviz.arch.modules import as_pair, first_tensor, layer_of, module_kind, module_name, rows_of
from cnnviz.arch.summary import (
    FLAT,
    SHARED,
    START,
    UNKNOWN,
    Op,
    advance,
    cost,
    merge,
    param_counts,
    res_op,
    size_text,
    to_row,
    walk,
)
from cnnviz.arch.table import Row, Shape, fmt_shape
from cnnviz.shapes import SettingError, output_size


def module_summary(model: nn.Module, shape: Shape) -> list[Row]:
    """Rows of a module run once on a zero input of `shape` (C, H, W): traced along its graph
    unless it is an nn.Sequential (or fx cannot trace it), else hooked."""
    if not isinstance(model, nn.Sequential):
        traced = _traced_summary(model, shape)
        if traced is not None:
            return traced
    calls: list[tuple[nn.Module, Shape, Shape]] = []

    def hook(module, inputs, output):
        t_in, t_out = first_tensor(inputs), first_tensor(output)
        if t_in is not None and t_out is not None:
            calls.append((module, tuple(t_in.shape[1:]), tuple(t_out.shape[1:])))

    handles = [m.register_forward_hook(hook) for m in rows_of(model)]
    try:
        _run_on_zeros(model, shape, model)
    finally:
        for h in handles:
            h.remove()
    rows = walk(_ops(calls))
    if not isinstance(model, nn.Sequential):  # the call order of a branched net is not its graph
        for row in rows:
            row.receptive_field = None
    return rows


def _ops(calls) -> list[Op]:
    """An Op per module call; a module called again shares the parameters counted first."""
    seen: set[int] = set()
    ops = []
    for i, (m, in_shape, out_shape) in enumerate(calls):
        ops.append(module_op(i, m, in_shape, out_shape, id(m) not in seen))
        seen.add(id(m))
    return ops


def module_op(i: int, m: nn.Module, in_shape: Shape, out_shape: Shape, count_params=True) -> Op:
    """One call of a module as the table counts it (parameters only at its first call)."""
    kind = module_kind(m)
    text = repr(m)
    text = text if len(text) < 200 else type(m).__name__
    layer = layer_of(m)
    if kind == "res" and layer is not None and len(in_shape) == 3:
        op = res_op(i, layer, in_shape, count_params)
        op.module = text
        return op
    size_formula, windows = None, ()
    per_out = 1
    if kind in ("conv", "maxpool", "avgpool"):
        k = as_pair(m.kernel_size)
        s = as_pair(m.stride or m.kernel_size)
        d = as_pair(getattr(m, "dilation", 1))  # AvgPool2d has none
        windows = ((k, s, d),)
        if kind == "conv":
            per_out = (m.in_channels // m.groups) * k[0] * k[1]
            how = dict(op="conv", padding_mode=m.padding_mode)
        else:
            per_out = k[0] * k[1]
            how = dict(op="pool", ceil_mode=m.ceil_mode)
        try:
            size_formula = size_text(output_size(in_shape[1:], k, s, m.padding, d, **how))
        except SettingError:
            size_formula = None
    elif kind == "linear":
        per_out = m.in_features
    weight_dims: tuple = ()
    bias = extra = 0
    for pname, p in m.named_parameters() if count_params else ():
        if pname == "weight":
            weight_dims = tuple(p.shape)
        elif pname == "bias":
            bias = p.numel()
        else:
            extra += p.numel()
    params = param_counts(kind, weight_dims, bias, extra)
    if not count_params:
        params = (*params[:3], SHARED)
    if kind == "other":
        counted = (0, 0, "not counted (a module cnnviz does not know)")
    else:
        counted = cost(kind, in_shape, out_shape, per_out)
    title = layer.title if layer else type(m).__name__
    return Op(
        i,
        module_name(m),
        kind,
        title,
        in_shape,
        out_shape,
        params,
        counted,
        size_formula,
        windows,
        text,
    )


class _LeafTracer(torch.fx.Tracer):
    """Every module without children is one node, as the table has one row per leaf."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return not list(m.children()) or super().is_leaf_module(m, qualname)


def leaf_graph(model: nn.Module) -> torch.fx.GraphModule:
    """The model's torch.fx graph with one node per leaf module (the summary's rows, the
    layers a unit's field is traced through). Whatever tracing raises (data-dependent control
    flow...) is passed on."""
    return torch.fx.GraphModule(model, _LeafTracer().trace(model))


def _traced_summary(model: nn.Module, shape: Shape) -> list[Row] | None:
    """Rows of a module traced with torch.fx, fields along its graph; None if it cannot be
    traced (data-dependent control flow...)."""
    try:
        gm = leaf_graph(model)
    except Exception:  # noqa: BLE001 - any user module may refuse to be traced
        return None
    seen: set[int] = set()
    rows: list[Row] = []

    class Run(torch.fx.Interpreter):
        def __init__(self, module):
            super().__init__(module)
            self.fields: dict = {}

        def run_node(self, n):
            out = super().run_node(n)
            t_out = first_tensor(out)
            ins = [self.fields.get(a) for a in n.all_input_nodes]
            t_in = (
                first_tensor(self.fetch_args_kwargs_from_env(n)[0])
                if n.op == "call_module"
                else None
            )
            op = None
            if t_in is not None and t_out is not None:
                m = self.fetch_attr(n.target)
                in_shape, out_shape = tuple(t_in.shape[1:]), tuple(t_out.shape[1:])
                op = module_op(len(rows), m, in_shape, out_shape, id(m) not in seen)
                seen.add(id(m))
            if n.op == "placeholder":
                field = START if t_out is not None and t_out.dim() == 4 else None
            elif t_out is None or n.op == "get_attr" or all(f is None for f in ins):
                field = None  # sizes, constants, parameters: not made from the image
            elif t_out.dim() != 4:
                field = FLAT if merge(ins) != UNKNOWN else UNKNOWN
            elif op is not None and op.kind in ("conv", "maxpool", "avgpool", "gap"):
                field = advance(merge(ins), op)
            else:
                field = self._same_size(n, t_out, merge(ins))
            self.fields[n] = field
            if op is not None:
                rows.append(to_row(op, field))
            return out

        def _same_size(self, n, t_out, field):
            """Elementwise, batch norm, an add or a cat of same-size maps keep the field."""
            if not isinstance(field, tuple):
                return field
            sizes = {
                tuple(self.env[a].shape[2:])
                for a in n.all_input_nodes
                if isinstance(self.env.get(a), torch.Tensor) and self.env[a].dim() == 4
            }
            return field if sizes == {tuple(t_out.shape[2:])} else UNKNOWN

    _run_on_zeros(model, shape, Run(gm).run)
    return rows


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
            f"The model does not run on a {fmt_shape(shape)} input: {str(err).splitlines()[0]}"
        ) from None
    finally:
        for m, training in modes:
            m.training = training
