"""A drawing, an upload or a camera picture made to look like the training data.

MNIST's recipe (LeCun, Cortes, Burges): the digit's ink is cropped to its bounding box, scaled
(antialiased, keeping its aspect) so its longer side is 20 pixels, and pasted into a 28×28 field
so that its centre of mass sits at the field's centre. cnnviz's generated digits are made the
same way, so a drawing centred like this is what the net was trained on.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnviz.images.decode import LUMA


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float (H, W) map resized to size = (height, width), antialiased (PIL's box-aware
    bilinear on 32-bit floats: every source pixel counts when shrinking)."""
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(im.resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32)


def centre_digit(gray: np.ndarray, size: int = 28, box: int = 20) -> np.ndarray:
    """A drawing (H, W), ink high on a 0 background, as MNIST digits are made: (size, size)
    float32 in [0, 1], the ink's bounding box scaled so its longer side is `box` (aspect kept,
    antialiased), the centre of mass moved to the centre (by whole pixels, as MNIST did; a
    shift that would push ink off the field is reduced). No ink at all: all zeros."""
    a = np.nan_to_num(np.asarray(gray, dtype=np.float64))
    if a.ndim != 2:
        raise ValueError(f"A drawing is one (height, width) map of ink, not shape {a.shape}.")
    if not 0 < box <= size:
        raise ValueError(f"The digit's box ({box}) must fit the field ({size}).")
    a = np.clip(a, 0.0, None)
    out = np.zeros((size, size), np.float32)
    if a.size == 0 or a.max() <= 0:
        return out
    a = a / a.max() if a.max() > 1 else a
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    ink = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = ink.shape
    scale = box / max(h, w)
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    digit = np.clip(_resize(ink, (sh, sw)), 0.0, 1.0)
    mass = float(digit.sum())
    if mass <= 0:
        return out
    cy = float((digit.sum(axis=1) * np.arange(sh)).sum()) / mass
    cx = float((digit.sum(axis=0) * np.arange(sw)).sum()) / mass
    centre = (size - 1) / 2
    top = min(max(round(centre - cy), 0), size - sh)
    left = min(max(round(centre - cx), 0), size - sw)
    out[top : top + sh, left : left + sw] = digit
    return out


def _as_float_image(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 or float as float64 (H, W, C) in [0, 1] (floats outside [0, 1]
    are stretched); RGBA is laid on white, as a transparent picture is seen."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or min(a.shape[:2]) < 1:
        raise ValueError(
            f"A picture is (height, width) or (height, width, channels), not shape {a.shape}."
        )
    if a.dtype == np.uint8:
        f = a.astype(np.float64) / 255.0
    else:
        f = np.nan_to_num(a.astype(np.float64))
        lo, hi = f.min(), f.max()
        if lo < 0 or hi > 1:
            f = (f - lo) / (hi - lo) if hi > lo else np.zeros_like(f)
    if f.shape[2] in (2, 4):  # grey or colour with alpha: on white
        colour, alpha = f[:, :, :-1], f[:, :, -1:]
        f = colour * alpha + (1.0 - alpha)
    return f


def fit_to_input(image: np.ndarray, input_shape, invert: bool = False) -> np.ndarray:
    """An upload or camera picture as a net's input: (C, H, W) float32 in [0, 1] for input_shape
    (C, H, W). Colour to one channel by luminance (ITU-R 601), grey to three by repeating;
    resized to H×W (bilinear, antialiased; the aspect is not kept); `invert` (1 − x) turns dark
    ink on white paper into the bright ink on black that digit sets use."""
    c, h, w = (int(s) for s in input_shape)
    if c not in (1, 3) or h < 1 or w < 1:
        raise ValueError(
            f"The net's input must be 1 or 3 channels × height × width, not {input_shape}."
        )
    f = _as_float_image(image)
    if c == 1:
        planes = [f[:, :, 0] if f.shape[2] == 1 else f @ LUMA]
    else:
        planes = [f[:, :, 0]] * 3 if f.shape[2] == 1 else [f[:, :, i] for i in range(3)]
    out = np.stack([_resize(p, (h, w)) for p in planes])
    out = np.clip(out, 0.0, 1.0)
    return (1.0 - out if invert else out).astype(np.float32)
