"""The Convolution page's input as a picture: the padding tinted orange, the chosen output
cell's window framed in blue, and a close-up of that window. Pure numpy and Pillow."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from cnnviz.render.png import upscale

PAD_TINT = np.array([230, 159, 0], dtype=np.float32)  # Okabe-Ito orange: the padding frame
WINDOW = (0, 114, 178)  # Okabe-Ito blue: the window of the chosen output cell


def picture(
    padded: np.ndarray,
    pads: tuple[int, int, int, int],
    box: tuple[int, int, int, int] | None = None,
    min_side: int = 256,
) -> np.ndarray:
    """The padded input as RGB uint8: padding tinted orange, the chosen window outlined.

    `box` is (top, left, bottom, right) in input coordinates (inclusive; may reach into the
    padding). Small inputs are enlarged (nearest neighbour) so cells stay visible.
    """
    img = padded if padded.shape[0] == 3 else np.repeat(padded[:1], 3, axis=0)
    img = np.clip(img.transpose(1, 2, 0), 0, 1) * 255
    pt, pb, pl, pr = pads
    h, w = img.shape[:2]
    inside = np.zeros((h, w), bool)
    inside[pt : h - pb, pl : w - pr] = True
    img[~inside] = 0.55 * img[~inside] + 0.45 * PAD_TINT
    out = upscale(np.round(img).astype(np.uint8), min_side)
    f = out.shape[0] // h
    if box is not None:
        draw = ImageDraw.Draw(im := Image.fromarray(out))
        top, left, bottom, right = box
        y0, x0 = (top + pt) * f, (left + pl) * f
        y1, x1 = (bottom + pt + 1) * f - 1, (right + pl + 1) * f - 1
        width = max(2, f // 3, out.shape[0] // 200)
        draw.rectangle([x0, y0, x1, y1], outline=WINDOW, width=width)
        out = np.asarray(im)
    return out


def zoom(
    padded: np.ndarray,
    pads: tuple[int, int, int, int],
    box: tuple[int, int, int, int],
    margin: int = 3,
    side: int = 240,
) -> np.ndarray:
    """A close-up of the padded input around one window (`box` as in `picture`), enlarged."""
    pt, pb, pl, pr = pads
    top, left, bottom, right = box
    h, w = padded.shape[1:]
    r0, r1 = max(0, top + pt - margin), min(h, bottom + pt + margin + 1)
    c0, c1 = max(0, left + pl - margin), min(w, right + pl + margin + 1)
    crop = padded[:, r0:r1, c0:c1]
    cp = (max(0, pt - r0), max(0, r1 - (h - pb)), max(0, pl - c0), max(0, c1 - (w - pr)))
    shifted = (
        top + pt - r0 - cp[0],
        left + pl - c0 - cp[2],
        bottom + pt - r0 - cp[0],
        right + pl - c0 - cp[2],
    )
    return picture(crop, cp, shifted, min_side=side)
