"""dL/dy as a backward pass receives it: checked against the forward output's shape."""

from __future__ import annotations

import numpy as np

from cnnviz.shapes import SettingError


def grad_batch(grad_output, want: tuple[int, ...], squeeze: bool, dtype) -> np.ndarray:
    """dL/dy as (N, O, Ho, Wo) in `dtype`, checked against the forward output's shape."""
    g = np.asarray(grad_output)
    g = g[None] if squeeze and g.ndim == 3 else g
    if g.shape != want:
        shown = want[1:] if squeeze else want
        raise SettingError(
            f"grad_output must have the forward output's shape {shown}; this one has "
            f"{tuple(np.shape(grad_output))}."
        )
    return g.astype(dtype, copy=False)
