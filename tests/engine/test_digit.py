"""cnnviz.images.digit: drawings centred like MNIST (a shifted stroke gives the same input, the
centre of mass at the centre, the longer side 20 pixels); pictures fitted to a net's input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from cnnviz.images.digit import centre_digit, fit_to_input


def stroke(dx: int, dy: int, side: int = 200, points=((40, 30), (90, 40), (60, 120))) -> np.ndarray:
    """A white polyline drawn on a black canvas, moved by (dx, dy) pixels: (side, side) in [0, 1].
    Drawn once, then moved: PIL does not draw a wide line the same at every offset."""
    im = Image.new("L", (side, side), 0)
    ImageDraw.Draw(im).line(list(points), fill=255, width=12)
    drawn = np.asarray(im, dtype=np.float64) / 255
    moved = np.zeros_like(drawn)
    moved[dy:, dx:] = drawn[: side - dy, : side - dx]
    assert moved.sum() == drawn.sum()  # no ink pushed off the canvas
    return moved


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    a = a.astype(np.float64)  # float32 sums drift by ~1e-6 on a 28x28 digit
    m = a.sum()
    return (a.sum(1) * np.arange(a.shape[0])).sum() / m, (
        a.sum(0) * np.arange(a.shape[1])
    ).sum() / m


@settings(max_examples=20, deadline=None)
@given(
    st.integers(0, 60),
    st.integers(0, 60),
    st.lists(st.tuples(st.integers(10, 120), st.integers(10, 120)), min_size=2, max_size=5),
)
def test_a_shifted_stroke_gives_the_same_centred_digit(dx, dy, points):
    base = centre_digit(stroke(0, 0, points=points))
    moved = centre_digit(stroke(dx, dy, points=points))
    np.testing.assert_array_equal(base, moved)
    assert base.shape == (28, 28) and base.dtype == np.float32
    assert 0 <= base.min() and base.max() <= 1 and base.max() > 0.5
    rows, cols = np.flatnonzero(base.any(1)), np.flatnonzero(base.any(0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)  # + antialiasing's edge
    cy, cx = centre_of_mass(base)
    # whole-pixel shifts: at most half a pixel off (a centre on a pixel edge may go either way)
    assert abs(cy - 13.5) <= 0.5 + 1e-5 and abs(cx - 13.5) <= 0.5 + 1e-5


def test_empty_drawing_sizes_and_bad_input():
    assert (centre_digit(np.zeros((50, 80))) == 0).all()
    assert centre_digit(np.zeros((50, 80))).shape == (28, 28)
    dot = np.zeros((10, 10))
    dot[2, 7] = 3.0  # any range: scaled to [0, 1]
    small = centre_digit(dot, size=16, box=10)
    assert small.shape == (16, 16) and small.max() == pytest.approx(1.0)
    assert centre_of_mass(small) == pytest.approx((7.5, 7.5), abs=0.5)
    with pytest.raises(ValueError, match="one .height, width. map"):
        centre_digit(np.zeros((3, 4, 4)))


def test_fit_to_input_converts_channels_range_and_size():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    grey = fit_to_input(rgb, (1, 28, 28))
    assert grey.shape == (1, 28, 28) and grey.dtype == np.float32
    np.testing.assert_allclose(grey, 0.299, atol=1e-6)
    np.testing.assert_allclose(fit_to_input(rgb, (1, 28, 28), invert=True), 0.701, atol=1e-6)
    colour = fit_to_input(rgb, (3, 8, 8))
    np.testing.assert_allclose(colour[0], 1.0)
    np.testing.assert_allclose(colour[1:], 0.0)
    three = fit_to_input(np.full((5, 5), 0.25), (3, 10, 10))
    np.testing.assert_allclose(three, 0.25, atol=1e-6)
    stretched = fit_to_input(np.array([[-1.0, 3.0]]), (1, 1, 2))
    assert stretched.min() >= 0 and stretched.max() <= 1
    clear = np.zeros((4, 4, 4), np.uint8)  # fully transparent: white paper
    np.testing.assert_allclose(fit_to_input(clear, (1, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        fit_to_input(rgb, (2, 28, 28))
    with pytest.raises(ValueError, match="height, width, channels"):
        fit_to_input(np.zeros((4, 4, 5)), (1, 4, 4))
