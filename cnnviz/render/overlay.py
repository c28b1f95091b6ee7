"""A heat map (Grad-CAM, saliency) laid over the picture it explains: the map upsampled to the
picture's size (bilinear, as the Grad-CAM paper does), stretched to [0, 1], coloured and
alpha-blended over the picture, as PNG bytes.
"""

from __future__ import annotations

import numpy as np

from cnnviz.render.colormaps import Range, colorize
from cnnviz.render.png import array_to_png, to_uint8, upscale


def _axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sampling along one axis as torch's `interpolate(..., align_corners=False)`:
    source = (i + 0.5)·n_in/n_out − 0.5, clamped at 0; the two neighbours and the weight of the
    second."""
    src = np.maximum((np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def upsample(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (h, w) map resized to size = (H, W) bilinearly, the numbers of
    `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`: float32."""
    a = np.asarray(heat, dtype=np.float64)
    if a.ndim != 2 or min(a.shape) < 1:
        raise ValueError(f"A heat map is one (height, width) map, not shape {a.shape}.")
    (r0, r1, wr), (c0, c1, wc) = _axis(a.shape[0], int(size[0])), _axis(a.shape[1], int(size[1]))
    rows = a[r0] * (1 - wr)[:, None] + a[r1] * wr[:, None]
    return (rows[:, c0] * (1 - wc) + rows[:, c1] * wc).astype(np.float32)


def stretch(a: np.ndarray) -> np.ndarray:
    """Values to [0, 1] by (a − min) / (max − min); a flat map is all 0."""
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def picture(image: np.ndarray) -> np.ndarray:
    """A net's input (C, H, W) as an (H, W, 3) picture in [0, 1]: kept as is when already in
    [0, 1], else stretched; one channel is grey, three are RGB, other counts their mean."""
    a = np.nan_to_num(np.asarray(image, dtype=np.float64))
    if a.ndim != 3 or min(a.shape) < 1:
        raise ValueError(f"The picture must be (channels, height, width), not shape {a.shape}.")
    if a.min() < 0 or a.max() > 1:
        a = stretch(a)
    a = a if a.shape[0] == 3 else np.repeat(a.mean(axis=0, keepdims=True), 3, axis=0)
    return a.transpose(1, 2, 0)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float, cmap: str = "magma") -> np.ndarray:
    """(H, W, 3) in [0, 1]: (1 − alpha)·picture + alpha·colour(heat upsampled and stretched)."""
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"The opacity must be between 0 and 1, not {alpha:g}.")
    base = picture(image)
    heat01 = stretch(upsample(heat, base.shape[:2]))
    colour = colorize(heat01, cmap, Range(0.0, 1.0, False)) / 255.0
    return (1.0 - alpha) * base + alpha * colour


def overlay_png(
    image: np.ndarray, heat: np.ndarray, alpha: float, min_side: int = 224, cmap: str = "magma"
) -> bytes:
    """The overlay (see `overlay`) as PNG bytes, enlarged by whole pixels (nearest) until its short
    side is at least `min_side`: a 28×28 digit stays sharp on screen."""
    return array_to_png(upscale(to_uint8(overlay(image, heat, alpha, cmap)), min_side))
