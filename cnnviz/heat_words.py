"""Heat maps in words: where a Grad-CAM or saliency map puts its weight ("upper right"), where it
peaks and whether a stroke is there, and the Explore page's sentence reading both maps. numpy
only; the maps come from cnnviz.attribution."""

from __future__ import annotations

import numpy as np

from cnnviz.render.overlay import upsample

THIRDS = (("upper", "middle", "lower"), ("left", "centre", "right"))


def place(heat: np.ndarray) -> str:
    """Where the weight of a map lies, in words ("upper right", "centre")."""
    h = np.asarray(heat, np.float64)
    if h.sum() <= 0:
        return ""
    rows, cols = np.indices(h.shape)
    r = float((rows * h).sum() / h.sum()) / max(1, h.shape[0] - 1)
    c = float((cols * h).sum() / h.sum()) / max(1, h.shape[1] - 1)
    v, u = THIRDS[0][min(2, int(r * 3))], THIRDS[1][min(2, int(c * 3))]
    if v == "middle" and u == "centre":
        return "centre"
    return u if v == "middle" else (v if u == "centre" else f"{v} {u}")


def peak(heat: np.ndarray, x: np.ndarray) -> tuple[str, bool]:
    """Where a map (at the input's size) is strongest, in words, and whether ink (input above
    0.3) lies within a pixel of that spot."""
    r, c = np.unravel_index(int(np.argmax(heat)), heat.shape)
    ink = np.asarray(x).max(axis=0) > 0.3
    near = ink[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2].any()
    spot = np.zeros_like(heat)
    spot[r, c] = 1.0
    return place(spot), bool(near)


def _spot_words(where: str, on_ink: bool) -> str:
    return f"the **{where}**, " + ("on a stroke" if on_ink else "where there is no ink")


def reading(name: str, layer: str, cam: np.ndarray, sal: np.ndarray, x: np.ndarray) -> str:
    """One sentence reading the two maps for class `name`."""
    size = x.shape[1:]
    if cam.max() <= 0:
        first = (
            f"Grad-CAM on {layer} finds no evidence *for* {name} (every weighted sum is ≤ 0): "
            "this layer's maps argue against it"
        )
    else:
        up = upsample(cam, size)  # as the overlay shows it
        first = (
            f"Grad-CAM on {layer} finds the evidence for **{name}** mostly in the "
            f"**{place(up)}**, strongest at {_spot_words(*peak(up, x))}"
        )
    if sal.max() <= 0:
        return first + "."
    return (
        first + f"; saliency: the pixels that would change the {name} score most are in "
        f"{_spot_words(*peak(sal, x))}."
    )
