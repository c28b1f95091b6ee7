"""Receptive field: how many input pixels one unit after each layer sees, the jump between
neighbouring units, and where the first unit's centre falls on the input.

Standard recurrence, per axis: r += dilation·(k − 1)·j, then j *= stride.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.shapes import pair


@dataclass(frozen=True)
class FieldRow:
    """Receptive field after one layer: how many input pixels one output unit sees."""

    name: str
    size: tuple[int, int]  # receptive field in input pixels
    jump: tuple[int, int]  # input pixels between neighbouring output units
    start: tuple[float, float]  # input coordinate of the first unit's centre


def grow_field(
    size: tuple[int, int], jump: tuple[int, int], kernel_size, stride=1, dilation=1
) -> tuple[tuple[int, int], tuple[int, int]]:
    """One layer of the receptive-field recurrence, per axis: r += dilation·(k − 1)·j, then
    j *= stride. `size` is the field (input pixels one unit sees), `jump` the input pixels
    between neighbouring units; a global pool is a window of the whole map (k = its size)."""
    k = pair(kernel_size, "kernel_size")
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    return (
        (size[0] + d[0] * (k[0] - 1) * jump[0], size[1] + d[1] * (k[1] - 1) * jump[1]),
        (jump[0] * s[0], jump[1] * s[1]),
    )


def receptive_field(layers: Sequence[dict]) -> list[FieldRow]:
    """Receptive field, jump and centre of the first unit after each conv/pool layer.

    Each layer is a dict with kernel_size, and optional stride (1), padding (0), dilation (1),
    name. Standard recurrence (`grow_field`): r += (k_eff - 1) * j; j *= s; and the centre
    start += ((k_eff - 1) / 2 - p) * j.
    """
    r, j, start = (1, 1), (1, 1), (0.0, 0.0)
    rows = []
    for idx, layer in enumerate(layers):
        ks = pair(layer["kernel_size"], "kernel_size")
        ss = pair(layer.get("stride", 1) or ks, "stride")
        ps = pair(layer.get("padding", 0), "padding", minimum=0)
        ds = pair(layer.get("dilation", 1), "dilation")
        start = tuple(start[a] + (ds[a] * (ks[a] - 1) / 2 - ps[a]) * j[a] for a in range(2))
        r, j = grow_field(r, j, ks, ss, ds)
        rows.append(FieldRow(layer.get("name", f"layer {idx + 1}"), r, j, start))  # type: ignore[arg-type]
    return rows
