"""What a walk's drawn grid holds, and the checks every walk's input and filter go through."""

from __future__ import annotations

import numpy as np

from cnnviz.shapes import SettingError

# What a cell of the drawn input grid is (the `codes` of a walk).
INPUT, PADDING, INSERTED, OVERHANG = 0, 1, 2, 3
CODE_NAMES = {
    INPUT: "input",
    PADDING: "padding",
    INSERTED: "inserted zero",
    OVERHANG: "ceil_mode overhang",
}


def _f32(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if not np.isfinite(a).all():
        raise SettingError("The grids must hold ordinary numbers (no NaN or infinity).")
    return a


def as_input(x) -> np.ndarray:
    """A (C, H, W) float32 input; a (H, W) grid is one channel."""
    a = _f32(x)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise SettingError(f"The input is one grid per channel (C, H, W), not shape {a.shape}.")
    return a


def as_filter(w, channels: int) -> np.ndarray:
    """One filter: a (kH, kW) kernel for one channel or a (C, kH, kW) stack, one slice per channel."""
    a = _f32(w)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] != channels:
        raise SettingError(
            f"One filter has one kernel slice per input channel: {channels} slice(s) are needed, "
            f"the kernel has shape {a.shape}."
        )
    return a


def step_cell(k: int, n_steps: int, width: int) -> tuple[int, int]:
    """The (row, col) of step k in a walk over a grid `width` cells wide: row by row."""
    if not 0 <= k < n_steps:
        raise SettingError(f"step {k + 1} does not exist; there are {n_steps} steps.")
    return divmod(k, width)


def taps(start: int, stride: int, dilation: int, kernel: int) -> np.ndarray:
    """Where a (dilated) window placed at `start` (in strides) puts its taps along one axis."""
    return start * stride + dilation * np.arange(kernel)


def stack_channels(grids: list[np.ndarray], what: str) -> np.ndarray:
    """One (H, W) grid per channel stacked into (C, H, W); SettingError when the sizes differ
    (`what` names the grids: "input grid", "kernel slice")."""
    if len({g.shape for g in grids}) > 1:
        sizes = ", ".join(
            f"channel {i + 1}: {g.shape[0]}×{g.shape[1]}" for i, g in enumerate(grids)
        )
        raise SettingError(f"Every channel's {what} needs the same size ({sizes}).")
    return np.stack(grids)
