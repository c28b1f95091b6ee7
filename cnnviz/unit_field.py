"""Which pixels one unit sees: a unit (row, col) of a layer's map, traced back through the real
graph to the input, with the box it covers in every map on the way.

The net is traced with torch.fx (the same tracer as the layer table, so a residual block's
branches are followed) and run once on zeros for the shapes. Going back through a window
(conv, max/avg pool: kernel k, stride s, padding p, dilation d), the rows top..bottom of a map
come from rows top·s − p .. bottom·s − p + d·(k − 1) of the map before (every d-th); an adaptive pool's cell
i reads floor(i·n/m) .. ceil((i + 1)·n/m) − 1; any layer that keeps the map's size (activation,
batch norm, an add of branches) keeps the box; where branches meet, the boxes join.

Each box is kept twice. Clipped (top, left, bottom, right): the bounding box of the rows and
columns that really reach the unit, followed map by map (rows beyond a map are padding, rows a
stride skips at the far edge and the holes of a dilated window never reach it), so on the input
it is the support of the unit's gradient. Unclipped (`field`): the box by the formula alone; its
height and width on the input are the receptive field of the layer table
(`cnnviz.arch.summarize`: r += d·(k − 1)·jump), padding included. Circular padding wraps around
the edge; the box does not show that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from cnnviz.arch.module_summary import leaf_graph
from cnnviz.arch.summary import check_input_shape
from cnnviz.attribution import evaluating

Box = tuple[int, int, int, int]  # top, left, bottom, right (inclusive)


@dataclass(frozen=True)
class FieldBox:
    """The part of one map that reaches the chosen unit."""

    layer: str  # "input", or the named_modules() name of the layer whose output this map is
    shape: tuple  # the map's (channels, height, width)
    top: int  # inclusive, clipped to the map
    left: int
    bottom: int
    right: int
    field: Box  # the same box before any clipping (may reach outside the map: padding)
    kind: str = ""  # the module's class name ("" for the input)

    @property
    def size(self) -> tuple[int, int]:
        """Height and width of the unclipped box: on the input, the receptive field."""
        t, left, b, r = self.field
        return b - t + 1, r - left + 1


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # type: ignore[return-value]


def _windows(m: nn.Module) -> tuple | None:
    """(kernel, stride, padding before, dilation) per axis of a sliding window module."""
    if isinstance(m, nn.Conv2d):
        k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
        if m.padding == "same":
            p = tuple(d[a] * (k[a] - 1) // 2 for a in range(2))
        else:
            p = (0, 0) if m.padding == "valid" else _pair(m.padding)
        return k, s, p, d
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        k = _pair(m.kernel_size)
        s = _pair(m.stride or m.kernel_size)
        d = _pair(getattr(m, "dilation", 1))
        return k, s, _pair(m.padding), d
    return None


def _back(box: Box, win: tuple) -> Box:
    """The unclipped box of the map a window module read, from the box of its output."""
    k, s, p, d = win
    t, left, b, r = box
    return (
        t * s[0] - p[0],
        left * s[1] - p[1],
        b * s[0] - p[0] + d[0] * (k[0] - 1),
        r * s[1] - p[1] + d[1] * (k[1] - 1),
    )


def _adaptive(units: np.ndarray, n_in: int, n_out: int) -> np.ndarray:
    """The cells of a map of n_in that adaptive-pool cells `units` (of n_out) read."""
    lo, hi = units * n_in // n_out, -(-(units + 1) * n_in // n_out)
    return np.unique(np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]))


def _taps(units: np.ndarray, n_in: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """The cells of a map of n_in that window positions `units` read (padding and the holes of
    a dilated window left out)."""
    cells = (units[:, None] * s - p + d * np.arange(k)[None, :]).ravel()
    return np.unique(cells[(cells >= 0) & (cells < n_in)])


Axes = tuple[np.ndarray, np.ndarray]  # the rows and the columns of a map that reach the unit


def _join(a, b):
    """Two boxes (or two Axes) that reach the unit by different branches, as one."""
    if a is None:
        return b
    if isinstance(b[0], np.ndarray):
        return np.union1d(a[0], b[0]), np.union1d(a[1], b[1])
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _shape(n: torch.fx.Node) -> tuple | None:
    meta = n.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(shape[1:]) if shape is not None and len(shape) == 4 else None


def _in_module(n: torch.fx.Node, layer: str) -> bool:
    """Whether node n is made by module `layer` (the module itself, or a node inside it)."""
    if n.op == "call_module" and n.target == layer:
        return True
    stack = n.meta.get("nn_module_stack") or {}
    return any(path == layer for path, *_ in stack.values())


def _graph(model: nn.Module, input_shape) -> torch.fx.GraphModule:
    """The model's fx graph, every node knowing its output shape (one run on zeros)."""
    shape = check_input_shape(input_shape)
    try:
        gm = leaf_graph(model)
    except Exception as err:  # noqa: BLE001 - any user module may refuse to be traced
        raise ValueError(
            f"cnnviz cannot follow this model's graph ({str(err).splitlines()[0]}), so it cannot "
            f"trace a unit's field through it."
        ) from None
    param = next(model.parameters(), None)
    device = param.device if param is not None else "cpu"
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    try:
        with evaluating(model), torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros((1, *shape), device=device, dtype=dtype))
    except Exception as err:  # noqa: BLE001 - a user's model can fail in any way
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        shown = " × ".join(str(s) for s in shape)
        raise ValueError(f"The model does not run on a {shown} input: {first}") from None
    return gm


def unit_field(model: nn.Module, input_shape, layer: str, row: int, col: int) -> list[FieldBox]:
    """The boxes that reach unit (row, col) of `layer`'s output map (a `named_modules()` name),
    from the input up to that layer, one per map in the order the net makes them (a module
    called twice appears twice): the first is the input's box (the unit's receptive field,
    clipped), the last the unit itself. ValueError with a sentence for an unknown layer, a layer
    without a map, a unit outside the map, or a layer cnnviz cannot trace back through."""
    gm = _graph(model, input_shape)
    modules = dict(model.named_modules())
    nodes = list(gm.graph.nodes)
    calls = [n for n in nodes if _in_module(n, layer)]
    if not isinstance(layer, str) or layer not in modules or not calls:
        raise ValueError(f"The model has no layer named {layer!r} that runs on the image.")
    start = calls[-1]
    out_shape = _shape(start)
    if out_shape is None:
        raise ValueError(
            f"Layer {layer!r} gives no feature map (channels × height × width), so its units "
            f"have no place on the picture."
        )
    h, w = out_shape[1:]
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(
            f"Layer {layer!r} gives {h} × {w} maps: row 0 to {h - 1}, column 0 to {w - 1}; there "
            f"is no unit at row {row}, column {col}."
        )
    one = (row, col, row, col)
    cells: dict[torch.fx.Node, Axes] = {start: (np.array([row]), np.array([col]))}
    raw: dict[torch.fx.Node, Box] = {start: one}
    for n in reversed(nodes[: nodes.index(start) + 1]):
        if n not in raw:
            continue
        for a in n.all_input_nodes:
            a_shape = _shape(a)
            if a_shape is None:
                continue  # sizes, parameters, constants: not made from the image
            ub, axes = _step(n, gm, a_shape, raw[n], cells.get(n))
            raw[a] = _join(raw.get(a), ub)
            if axes is not None and axes[0].size and axes[1].size:  # else: only padding
                cells[a] = _join(cells.get(a), axes)
    out = []
    for n in nodes:
        if n in cells and (n.op == "placeholder" or n.op == "call_module" or n is start):
            rows, cols = cells[n]
            name = "input" if n.op == "placeholder" else str(n.target)
            kind = type(gm.get_submodule(n.target)).__name__ if n.op == "call_module" else ""
            if n is start:
                name, kind = layer, type(modules[layer]).__name__
            box = int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])
            out.append(FieldBox(name, _shape(n), *box, field=raw[n], kind=kind))
    if not out or out[0].layer != "input":
        raise ValueError(
            f"Unit (row {row}, column {col}) of layer {layer!r} reads only the padding around "
            f"the maps, none of the picture."
        )
    return out


def _step(n: torch.fx.Node, gm, a_shape: tuple, ub: Box, axes: Axes | None):
    """Node n's unclipped box and its rows and columns that reach the unit, carried back to
    its input map of `a_shape`."""
    n_shape = _shape(n)
    m = gm.get_submodule(n.target) if n.op == "call_module" else None
    win = _windows(m) if m is not None else None
    h, w = a_shape[1:]
    if win is not None:
        k, s, p, d = win
        back = None
        if axes is not None:
            back = (
                _taps(axes[0], h, k[0], s[0], p[0], d[0]),
                _taps(axes[1], w, k[1], s[1], p[1], d[1]),
            )
        return _back(ub, win), back
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and n_shape is not None:
        (oh, ow), t, left, b, r = n_shape[1:], *ub
        box = (t * h // oh, left * w // ow, -(-(b + 1) * h // oh) - 1, -(-(r + 1) * w // ow) - 1)
        back = None if axes is None else (_adaptive(axes[0], h, oh), _adaptive(axes[1], w, ow))
        return box, back
    if n_shape is not None and n_shape[1:] == a_shape[1:]:
        return ub, axes  # elementwise, batch norm, an add or a cat of same-size maps
    what = str(n.target) if m is not None else getattr(n.target, "__name__", str(n.target))
    raise ValueError(
        f"cnnviz cannot trace a unit's field back through {what!r}: it changes the map's size "
        f"in a way cnnviz does not follow."
    )
