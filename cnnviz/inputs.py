"""A user's picture as a net's input."""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnviz.images import load_image


def image_as_input(data: bytes, input_shape) -> np.ndarray:
    """An uploaded picture as the net's input: (C, H, W) float32 in [0, 1] at the data's size.
    Raises ImageError (a ValueError) with a sentence for files that are not usable images."""
    c, h, w = input_shape
    loaded = load_image(data, mode="gray" if c == 1 else "rgb", max_side=512)
    a = loaded.array
    if a.ndim == 2:
        im = Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR)
        out = np.asarray(im, dtype=np.float32)[None]
    else:
        im = Image.fromarray((a * 255).round().astype(np.uint8)).resize((w, h), Image.BILINEAR)
        out = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return np.ascontiguousarray(np.clip(out, 0, 1)[:c], dtype=np.float32)
