"""A digit written on paper (a photo or a scan) as ink, and any ink as a digit-net's input.

Digit sets are bright ink on a black field; a photo is dark ink on grey-white paper with
shading. `ink_from_paper` inverts light paper, takes the paper's own grey off (its median) and
drops the paper's texture, so that `cnnviz.images.digit.centre_digit` finds the digit's box.
"""

from __future__ import annotations

import numpy as np

from cnnviz.images.digit import centre_digit

TEXTURE = 0.25  # ink weaker than this (after the paper is taken off) is the paper's grain


def ink_from_paper(gray: np.ndarray) -> np.ndarray:
    """(H, W) grey in [0, 1] -> ink (H, W) in [0, 1], bright on 0. ValueError with a sentence
    for a picture of one flat colour."""
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2:
        raise ValueError(f"A grey picture is one (height, width) map, not shape {g.shape}.")
    if float(np.median(g)) > 0.5:  # paper brighter than ink
        g = 1.0 - g
    paper = float(np.median(g))
    ink = np.clip((g - paper) / max(1e-6, float(g.max()) - paper), 0.0, 1.0)
    ink[ink < TEXTURE] = 0.0
    if ink.max() <= 0:
        raise ValueError("No digit found in this picture: it is one flat colour.")
    return ink


def as_digit_input(ink: np.ndarray, size: int) -> np.ndarray:
    """Ink (H, W) centred like MNIST in a (1, size, size) input: the digit's box is 20/28 of the
    side, its centre of mass in the middle."""
    return centre_digit(ink, size, max(1, round(size * 20 / 28)))[None]
