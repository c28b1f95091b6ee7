"""cnnviz.inputs.image_as_input: a user's picture becomes the net's (C, H, W) float32 input in
[0, 1] at the data's size; files that are not images are refused with a sentence."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnviz.images import ImageError
from cnnviz.inputs import image_as_input


def png(a: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a, mode).save(buf, "PNG")
    return buf.getvalue()


def test_a_grey_picture_becomes_one_channel_at_the_datas_size():
    a = np.zeros((40, 40), np.uint8)
    a[:, 20:] = 255  # right half white
    x = image_as_input(png(a), (1, 8, 8))
    assert x.shape == (1, 8, 8) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(x[0, :, :3], 0, atol=1e-6)
    np.testing.assert_allclose(x[0, :, 5:], 1, atol=1e-6)


def test_a_colour_picture_keeps_its_channels_in_order():
    a = np.zeros((16, 16, 3), np.uint8)
    a[..., 0] = 255  # pure red
    x = image_as_input(png(a), (3, 4, 4))
    assert x.shape == (3, 4, 4)
    np.testing.assert_allclose(x[0], 1, atol=1e-6)
    np.testing.assert_allclose(x[1:], 0, atol=1e-6)


def test_a_colour_picture_for_a_grey_net_is_made_grey():
    a = np.full((16, 16, 3), 128, np.uint8)
    x = image_as_input(png(a), (1, 4, 4))
    assert x.shape == (1, 4, 4)
    np.testing.assert_allclose(x, 128 / 255, atol=0.01)


def test_a_file_that_is_no_image_is_refused_with_a_sentence():
    with pytest.raises(ImageError):
        image_as_input(b"not an image at all", (1, 8, 8))
    with pytest.raises(ValueError):
        image_as_input(b"", (3, 8, 8))
