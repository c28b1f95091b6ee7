"""cnnviz.render.overlay: upsampling equals torch's bilinear interpolate (align_corners=False);
the overlay blends the picture and the coloured, stretched heat map as promised."""

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnviz.render.colormaps import Range, colorize
from cnnviz.render.overlay import overlay, overlay_png, picture, stretch, upsample


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 9), st.integers(1, 9), st.integers(1, 40), st.integers(1, 40), st.integers(0, 99)
)
def test_upsample_equals_torch_bilinear(h, w, out_h, out_w, seed):
    heat = np.random.default_rng(seed).standard_normal((h, w)).astype(np.float32)
    expected = F.interpolate(
        torch.as_tensor(heat)[None, None], size=(out_h, out_w), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    got = upsample(heat, (out_h, out_w))
    assert got.shape == (out_h, out_w) and got.dtype == np.float32
    # upsample weighs in float64, torch in float32: torch's rounding, a few float32 steps of the
    # map's scale, is all that may differ (seen: 1.4e-6 on a map of values up to 2.4)
    scale = max(1.0, float(np.abs(heat).max()))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=16 * np.finfo(np.float32).eps * scale)


def test_overlay_blends_picture_and_coloured_heat():
    digit = np.zeros((1, 4, 4), np.float32)
    digit[0, 1:3, 1:3] = 1.0
    heat = np.array([[0.0, 2.0], [2.0, 4.0]], np.float32)
    heat01 = stretch(upsample(heat, (4, 4)))
    assert heat01.min() == 0 and heat01.max() == 1
    colour = colorize(heat01, "magma", Range(0.0, 1.0, False)) / 255
    base = np.repeat(digit.transpose(1, 2, 0), 3, axis=2)
    np.testing.assert_allclose(overlay(digit, heat, 0.3), 0.7 * base + 0.3 * colour)
    np.testing.assert_allclose(overlay(digit, heat, 0.0), base)
    np.testing.assert_allclose(overlay(digit, heat, 1.0), colour)
    # a flat heat map is all the lowest colour, never a division by zero
    flat = overlay(digit, np.full((2, 2), 5.0), 1.0)
    assert np.allclose(flat, flat[0, 0])
    with pytest.raises(ValueError, match="opacity must be between 0 and 1"):
        overlay(digit, heat, 1.5)
    with pytest.raises(ValueError, match="one .height, width. map"):
        overlay(digit, np.zeros((1, 2, 2)), 0.5)


def test_picture_normalises_any_range_and_channel_count():
    rgb = np.random.default_rng(0).random((3, 5, 6))
    np.testing.assert_array_equal(picture(rgb), rgb.transpose(1, 2, 0))
    signed = np.array([[[-2.0, 0.0], [2.0, 6.0]]])
    np.testing.assert_allclose(picture(signed)[..., 0], [[0.0, 0.25], [0.5, 1.0]])
    two = np.stack([np.zeros((2, 2)), np.ones((2, 2))])
    np.testing.assert_allclose(picture(two), 0.5)
    with pytest.raises(ValueError, match="channels, height, width"):
        picture(np.zeros((4, 4)))


def test_overlay_png_is_the_picture_enlarged():
    x = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    heat = np.random.default_rng(2).random((7, 7)).astype(np.float32)
    im = Image.open(io.BytesIO(overlay_png(x, heat, 0.5, min_side=224)))
    assert im.size == (224, 224) and im.mode == "RGB"
    small = np.asarray(im)[::8, ::8]
    expected = np.clip(np.rint(overlay(x, heat, 0.5) * 255), 0, 255)
    np.testing.assert_array_equal(small, expected)
