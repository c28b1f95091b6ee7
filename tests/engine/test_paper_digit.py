"""cnnviz.images.paper: dark ink on light, grainy paper becomes bright ink on 0 (the digit sets'
convention), a flat picture is refused with a sentence, and the ink is centred like MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.images.paper import as_digit_input, ink_from_paper


def test_dark_ink_on_grainy_paper_becomes_bright_ink_on_black() -> None:
    rng = np.random.default_rng(0)
    paper = 0.8 + 0.03 * rng.standard_normal((60, 40)).astype(np.float32)
    paper[10:50, 18:22] = 0.1  # a stroke
    ink = ink_from_paper(np.clip(paper, 0, 1))
    assert ink[10:50, 18:22].min() > 0.9
    outside = np.ones_like(ink, bool)
    outside[10:50, 18:22] = False
    assert ink[outside].max() == 0  # the grain is gone
    assert np.array_equal(ink_from_paper(1 - np.clip(paper, 0, 1)) > 0, ink > 0)  # light on dark


def test_a_flat_picture_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match="one flat colour"):
        ink_from_paper(np.full((20, 20), 0.7, np.float32))


def test_the_ink_is_centred_in_a_20_of_28_box() -> None:
    ink = np.zeros((100, 100), np.float32)
    ink[5:45, 70:80] = 1.0  # a bar in the upper right corner
    x = as_digit_input(ink, 28)
    assert x.shape == (1, 28, 28)
    rows = np.flatnonzero(x[0].max(axis=1) > 0.5)
    assert rows[-1] - rows[0] + 1 == 20
    cy, cx = (np.indices((28, 28)) * x[0]).reshape(2, -1).sum(1) / x[0].sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
