"""Kernel presets and typed kernels."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cnnviz
from cnnviz.kernels import (
    PRESETS,
    KernelError,
    format_kernel,
    normalize_kernel,
    parse_kernel,
    preset,
)

BLURS = ["box_blur_3", "box_blur_5", "gaussian_3", "gaussian_5", "gaussian_7", "motion_blur",
         "motion_blur_diagonal"]  # fmt: skip
EDGES = ["sobel_x", "sobel_y", "scharr_x", "scharr_y", "prewitt_x", "prewitt_y", "laplacian_4",
         "laplacian_8", "outline"]  # fmt: skip


def test_the_presets_a_teacher_expects_are_there():
    for name in ["identity", "sharpen", "unsharp_mask", "emboss", *BLURS, *EDGES]:
        k = preset(name)
        assert k.dtype == np.float32 and k.ndim == 2 and k.shape[0] % 2 == 1
        assert PRESETS[name].description.endswith(".")
    assert preset("gaussian_7").shape == (7, 7) and preset("unsharp_mask").shape == (5, 5)


@pytest.mark.parametrize("name", BLURS + ["sharpen", "unsharp_mask", "identity"])
def test_brightness_keeping_kernels_sum_to_one(name):
    assert preset(name).sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", EDGES)
def test_edge_detectors_sum_to_zero(name):
    assert preset(name).sum() == pytest.approx(0.0, abs=1e-6)


def test_identity_leaves_an_image_unchanged():
    x = np.random.default_rng(0).random((1, 9, 9), dtype=np.float32)
    np.testing.assert_array_equal(cnnviz.conv2d(x, preset("identity")[None, None], padding=1), x)


def test_sobel_x_is_positive_on_a_dark_to_bright_edge_like_torch():
    step = np.zeros((1, 5, 6), np.float32)
    step[:, :, 3:] = 1.0  # dark left, bright right
    w = preset("sobel_x")[None, None]
    ours = cnnviz.conv2d(step, w)
    theirs = F.conv2d(torch.from_numpy(step)[None], torch.from_numpy(w))[0].numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert ours.max() > 0 and ours.min() == 0
    assert cnnviz.conv2d(step.transpose(0, 2, 1), preset("sobel_y")[None, None]).max() > 0


def test_presets_are_copies():
    k = preset("sobel_x")
    k[:] = 0
    assert preset("sobel_x").any()


@pytest.mark.parametrize(
    "text, want",
    [
        ("1 0 -1; 2 0 -2; 1 0 -1", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
        ("1,0,-1\n2,0,-2\n1,0,-1", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
        ("[[1, 0, -1], [2, 0, -2], [1, 0, -1]]", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
        ("[1, 2, 3]", [[1, 2, 3]]),
        ("  7 ", [[7]]),
        ("1/9 1/9; 1/9 1/9", [[1 / 9, 1 / 9], [1 / 9, 1 / 9]]),
        ("−1 +2.5; 1e-1 .5", [[-1, 2.5], [0.1, 0.5]]),
        ("1, 2;\n3 4;", [[1, 2], [3, 4]]),
    ],
)
def test_typed_kernels_in_every_documented_form(text, want):
    np.testing.assert_allclose(parse_kernel(text), np.array(want, np.float32))


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        (" ; \n ", "empty"),
        ("1 2 3; 4 5", "row 2 has 2 numbers but row 1 has 3"),
        ("1 abc", "'abc' in row 1 is not a number"),
        ("1 nan", "'nan' in row 1 is not a number"),
        ("inf 1", "'inf' in row 1 is not a number"),
        ("1/0", "divides by zero"),
        ("1e39", "too large"),
        ("1/2/3", "not a number"),
        ("[[1, 2], [3, 4]", "brackets"),
        ("; ".join(["1"] * 12), "12 rows is more than the maximum 11"),
        (" ".join(["1"] * 12), "row 1 has 12 numbers"),
        ("1 " * 6000, "characters"),
        ("__import__('os')", "not a number"),
    ],
)
def test_malformed_kernels_get_a_sentence(text, words):
    with pytest.raises(KernelError, match=None) as e:
        parse_kernel(text)
    assert words in str(e.value)


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=11),
                  elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))  # fmt: skip
def test_format_round_trips_exactly(a):
    np.testing.assert_array_equal(parse_kernel(format_kernel(a)), a)


@given(st.text(max_size=300))
def test_any_text_is_a_kernel_or_a_kernel_error(text):
    try:
        k = parse_kernel(text)
    except KernelError as e:
        assert str(e)
    else:
        assert k.ndim == 2 and np.isfinite(k).all()


def test_normalize_keeps_edge_detectors_and_scales_blurs():
    assert not normalize_kernel(preset("sobel_x")).changed
    n = normalize_kernel(np.ones((3, 3)))
    assert n.changed and n.array.sum() == pytest.approx(1.0) and "sum 9" in n.reason


def test_random_kernel_is_deterministic():
    np.testing.assert_array_equal(cnnviz.kernels.random_kernel(3, 5, 7),
                                  cnnviz.kernels.random_kernel(3, 5, 7))  # fmt: skip
    assert cnnviz.kernels.random_kernel(3, 5, 7).shape == (3, 5)
