"""Torch modules and layer kinds, both ways, from one table (`TORCH_KINDS`): each kind knows the
module classes it is, how to build its module from a Layer, how to write that module back as
PyTorch code (from the module's own attributes, so the code text is what was built), and which
Layer a module is when the spec text can say it exactly.

Also the module helpers a table or a probe needs: `module_kind`, `module_name`, `rows_of`
(the modules a table shows) and `first_tensor` (the tensor in a module's inputs or outputs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.arch.layer import ArchError, Layer
from cnnviz.arch.table import Shape
from cnnviz.codegen import layer_code


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


def as_pair(value) -> tuple:
    """(h, w) of a torch size argument as the module stores it: one value, or a pair already."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


# ---------------------------------------------------------------- module -> Layer


def _same(*pairs) -> bool:
    return all(len({*p}) == 1 for p in pairs)


def _conv_layer(m: nn.Conv2d) -> Layer | None:
    if isinstance(m.padding, str):
        return None
    k, s, d, p = as_pair(m.kernel_size), as_pair(m.stride), as_pair(m.dilation), as_pair(m.padding)
    if not (_same(k, s, d, p) and m.groups == 1 and m.bias is not None):
        return None
    if m.padding_mode != "zeros":
        return None
    args = dict(out_channels=m.out_channels, kernel_size=k[0], stride=s[0], padding=p[0])
    return Layer("conv", {**args, "dilation": d[0]})


def _pool_layer(m: nn.MaxPool2d | nn.AvgPool2d) -> Layer | None:
    k, s, p = as_pair(m.kernel_size), as_pair(m.stride or m.kernel_size), as_pair(m.padding)
    if not _same(k, s, p) or m.ceil_mode:
        return None
    if isinstance(m, nn.MaxPool2d) and as_pair(m.dilation) != (1, 1):
        return None
    if isinstance(m, nn.AvgPool2d) and (not m.count_include_pad or m.divisor_override):
        return None
    kind = "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool"
    return Layer(kind, dict(kernel_size=k[0], stride=s[0], padding=p[0]))


def _res_layer(m: ResidualBlock) -> Layer:
    k = as_pair(m.conv1.kernel_size)[0]
    return Layer("res", {"out_channels": m.conv1.out_channels, "kernel_size": k})


# ---------------------------------------------------------------- module -> code


def _conv_code(m: nn.Conv2d) -> str:
    return layer_code(
        "conv",
        m.kernel_size,
        m.stride,
        m.padding,
        m.dilation,
        in_channels=m.in_channels,
        out_channels=m.out_channels,
    )


def _pool_code(m: nn.MaxPool2d | nn.AvgPool2d) -> str:
    pool = "max" if isinstance(m, nn.MaxPool2d) else "avg"
    return layer_code("pool", m.kernel_size, m.stride, m.padding, pool=pool)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class TorchKind:
    """How one layer kind meets torch: its module classes, the module for a Layer (given the
    shapes in and out), the code text of a module, and the Layer a module is (or None)."""

    types: tuple[type, ...]
    build: Callable[[dict, Shape, Shape], nn.Module]
    code: Callable[[nn.Module], str] = lambda m: f"nn.{type(m).__name__}()"
    layer: Callable[[nn.Module], Layer | None] | None = None  # None: Layer(kind)


def _plain(cls: type) -> TorchKind:
    """A kind with no settings (relu, sigmoid, tanh, gelu): its class, called with nothing."""
    return TorchKind((cls,), lambda a, i, o: cls())


TORCH_KINDS: dict[str, TorchKind] = {
    "conv": TorchKind(
        (nn.Conv2d,),
        lambda a, i, o: nn.Conv2d(
            i[0], a["out_channels"], a["kernel_size"], a["stride"], a["padding"], a["dilation"]
        ),
        _conv_code,
        _conv_layer,
    ),
    "relu": _plain(nn.ReLU),
    "leaky_relu": TorchKind(
        (nn.LeakyReLU,),
        lambda a, i, o: nn.LeakyReLU(a["negative_slope"]),
        lambda m: f"nn.LeakyReLU({m.negative_slope:g})",
        lambda m: Layer("leaky_relu", {"negative_slope": m.negative_slope}),
    ),
    "sigmoid": _plain(nn.Sigmoid),
    "tanh": _plain(nn.Tanh),
    "gelu": _plain(nn.GELU),
    "maxpool": TorchKind(
        (nn.MaxPool2d,),
        lambda a, i, o: nn.MaxPool2d(a["kernel_size"], a["stride"], a["padding"]),
        _pool_code,
        _pool_layer,
    ),
    "avgpool": TorchKind(
        (nn.AvgPool2d,),
        lambda a, i, o: nn.AvgPool2d(a["kernel_size"], a["stride"], a["padding"]),
        _pool_code,
        _pool_layer,
    ),
    "batchnorm": TorchKind(
        (nn.BatchNorm2d, nn.BatchNorm1d),
        lambda a, i, o: (nn.BatchNorm2d if len(i) == 3 else nn.BatchNorm1d)(i[0]),
        lambda m: f"nn.{type(m).__name__}({m.num_features})",
    ),
    "dropout": TorchKind(
        (nn.Dropout, nn.Dropout2d),
        lambda a, i, o: nn.Dropout(a["p"]),
        lambda m: f"nn.{type(m).__name__}(p={m.p:g})",
        lambda m: Layer("dropout", {"p": m.p}) if type(m) is nn.Dropout else None,
    ),
    "flatten": TorchKind(
        (nn.Flatten,),
        lambda a, i, o: nn.Flatten(),
        layer=lambda m: Layer("flatten") if (m.start_dim, m.end_dim) == (1, -1) else None,
    ),
    "linear": TorchKind(
        (nn.Linear,),
        lambda a, i, o: nn.Linear(i[0], o[0]),
        lambda m: f"nn.Linear({m.in_features}, {m.out_features})",
        lambda m: Layer("linear", {"out_features": m.out_features}),
    ),
    "gap": TorchKind(
        (nn.AdaptiveAvgPool2d,),
        lambda a, i, o: nn.AdaptiveAvgPool2d(1),
        lambda m: f"nn.AdaptiveAvgPool2d({m.output_size})",
    ),
    "res": TorchKind(
        (ResidualBlock,),
        lambda a, i, o: ResidualBlock(i[0], a["out_channels"], a["kernel_size"]),
        lambda m: (
            f"ResidualBlock({m.conv1.in_channels}, {m.conv1.out_channels}, "
            f"{as_pair(m.conv1.kernel_size)[0]})"
        ),
        _res_layer,
    ),
}
_KIND_OF_TYPE = {t: kind for kind, k in TORCH_KINDS.items() for t in k.types}


def module_for(layer: Layer, in_shape: Shape, out_shape: Shape) -> nn.Module:
    """The torch module of one layer, given the shapes it gets and gives (without the batch)."""
    return TORCH_KINDS[layer.kind].build(layer.args, in_shape, out_shape)


@functools.lru_cache(maxsize=4096)
def code_for(layer: Layer, in_shape: Shape, out_shape: Shape) -> str:
    """The PyTorch code of one layer: the code text of the module it builds (built on the meta
    device: no memory; remembered, as every table of the editor asks again)."""
    with torch.device("meta"):
        return module_code(module_for(layer, in_shape, out_shape))


def module_kind(module: nn.Module) -> str:
    """The cnnviz kind of a torch module (one of KINDS), or "other"."""
    kind = _KIND_OF_TYPE.get(type(module), "other")
    if kind == "gap" and as_pair(module.output_size) != (1, 1):
        return "other"
    return kind


def module_code(module: nn.Module) -> str:
    """The PyTorch code that builds this module (a kind cnnviz knows), e.g. nn.Conv2d(1, 8,
    kernel_size=3, padding=1): only the arguments that differ from torch's defaults."""
    return TORCH_KINDS[module_kind(module)].code(module)


def layer_of(module: nn.Module) -> Layer | None:
    """The Layer a torch module is, when the spec can say it exactly (square kernels, bias on,
    no groups...), else None."""
    kind = module_kind(module)
    if kind == "other":
        return None
    read = TORCH_KINDS[kind].layer
    try:
        return Layer(kind) if read is None else read(module)
    except ArchError:
        return None


def module_name(module: nn.Module) -> str:
    """Short name: the spec token when the module is one, else its class name."""
    layer = layer_of(module)
    return layer.token if layer is not None else type(module).__name__


def first_tensor(out):
    """The first tensor in a module's inputs or output (a tensor, or tuples/lists/dicts of them)."""
    if isinstance(out, torch.Tensor):
        return out
    items = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else ()
    for item in items:
        t = first_tensor(item)
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
