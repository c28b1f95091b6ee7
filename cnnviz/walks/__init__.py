"""The sliding window, one step at a time: every multiply and every add, for convolution, max and
average pooling (`window`), and transposed convolution (`scatter`: as stamps, and as a
convolution over the zero-inserted input). The words around the numbers are `cnnviz.explain`.

Walks are lazy: `walk.step(k)` computes step k (0-based) when it is asked for.
"""

from __future__ import annotations

from cnnviz.shapes import OutputSize, SettingError, output_size
from cnnviz.walks.grids import CODE_NAMES, INPUT, INSERTED, OVERHANG, PADDING
from cnnviz.walks.scatter import ScatterWalk, StampStep, transpose_walk, views_agree, zero_inserted
from cnnviz.walks.window import ChannelPart, WindowStep, WindowWalk, conv_walk, pool_walk

# A mode of the Step by step page -> the layer kind of its output size (`shapes.output_size`).
MODES = {"conv": "conv", "max_pool": "pool", "avg_pool": "pool", "conv_transpose": "conv_transpose"}

__all__ = [
    "CODE_NAMES",
    "INPUT",
    "INSERTED",
    "MODES",
    "OVERHANG",
    "PADDING",
    "ChannelPart",
    "ScatterWalk",
    "StampStep",
    "WindowStep",
    "WindowWalk",
    "conv_walk",
    "make_walk",
    "pool_walk",
    "transpose_walk",
    "views_agree",
    "walk_size",
    "zero_inserted",
]


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise SettingError(f"mode {mode!r} is unknown; use one of {', '.join(MODES)}.")


def make_walk(
    mode: str,
    input,
    weight=None,
    bias=None,
    *,
    kernel_size=None,
    stride=None,
    padding=0,
    dilation=1,
    padding_mode="zeros",
    output_padding=0,
    ceil_mode=False,
    count_include_pad=True,
) -> WindowWalk | ScatterWalk:
    """The walk for a mode of the Step by step page: "conv", "max_pool", "avg_pool",
    "conv_transpose" (stride None means torch's default: 1, or the kernel for pooling)."""
    _check_mode(mode)
    if mode == "conv":
        return conv_walk(
            input, weight, bias, 1 if stride is None else stride, padding, dilation, padding_mode
        )
    if mode in ("max_pool", "avg_pool"):
        return pool_walk(
            input, mode[:3], kernel_size, stride, padding, dilation, ceil_mode, count_include_pad
        )
    return transpose_walk(
        input, weight, bias, 1 if stride is None else stride, padding, output_padding, dilation
    )


def walk_size(mode: str, input_size, kernel_size, **settings) -> OutputSize:
    """The output size of `make_walk(mode, ...)`'s walk, with its formula per dimension (the
    Output size page's), for an input of `input_size` (H, W) and a `kernel_size` window;
    `settings` are `shapes.output_size`'s (stride, padding, dilation, padding_mode, ...)."""
    _check_mode(mode)
    return output_size(input_size, kernel_size, op=MODES[mode], **settings)
