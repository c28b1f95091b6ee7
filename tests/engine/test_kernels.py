"""Kernel presets and typed kernels."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
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
    random_kernel,
)

BLURS = [
    "box_blur_3",
    "box_blur_5",
    "gaussian_3",
    "gaussian_5",
    "gaussian_7",
    "motion_blur",
    "motion_blur_diagonal",
]
EDGES = [
    "sobel_x",
    "sobel_y",
    "scharr_x",
    "scharr_y",
    "prewitt_x",
    "prewitt_y",
    "laplacian_4",
    "laplacian_8",
    "outline",
]


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


@settings(deadline=None)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=11),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    )
)
def test_format_round_trips_exactly(a):
    np.testing.assert_array_equal(parse_kernel(format_kernel(a)), a)


@settings(deadline=None)
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
    np.testing.assert_array_equal(
        cnnviz.kernels.random_kernel(3, 5, 7), cnnviz.kernels.random_kernel(3, 5, 7)
    )
    assert cnnviz.kernels.random_kernel(3, 5, 7).shape == (3, 5)


# ---------------------------------------------------------------------------------------------
# More presets: exact values, conventions checked with an inline cross-correlation


def xcorr(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation (no flip), as torch's conv2d: out[i, j] = sum k * window."""
    kh, kw = k.shape
    h, w = img.shape[0] - kh + 1, img.shape[1] - kw + 1
    return sum(k[a, b] * img[a : a + h, b : b + w] for a in range(kh) for b in range(kw))


def test_presets_are_read_only_and_named_by_their_key():
    for name, p in PRESETS.items():
        assert p.name == name and not p.array.flags.writeable
        with pytest.raises(ValueError):
            p.array[0, 0] = 1
        assert preset(name).flags.writeable


def test_unsharp_mask_is_the_classic_one():
    g = np.array([1, 4, 6, 4, 1])
    classic = np.outer(g, g).astype(np.float64)
    classic[2, 2] = -476
    np.testing.assert_allclose(preset("unsharp_mask"), -classic / 256, rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "sigma"), [("gaussian_3", 0.5**0.5), ("gaussian_5", 1.0), ("gaussian_7", 1.5**0.5)]
)
def test_gaussians_are_separable_with_the_stated_sigma(name, sigma):
    k = preset(name).astype(np.float64)
    row = k.sum(axis=0)
    np.testing.assert_allclose(k, np.outer(row, row), atol=1e-7)
    x = np.arange(len(row)) - len(row) // 2
    assert np.sqrt((row * x**2).sum()) == pytest.approx(sigma, rel=1e-6)
    assert f"{sigma:.1f}".rstrip("0").rstrip(".") in PRESETS[name].description


@pytest.mark.parametrize("name", ["sobel_x", "scharr_x", "prewitt_x"])
def test_x_kernels_are_positive_where_it_gets_brighter_to_the_right(name):
    step = np.zeros((7, 8), np.float32)
    step[:, 4:] = 1.0  # dark left, bright right
    k = preset(name)
    ours = xcorr(step, k)
    torch_out = F.conv2d(torch.from_numpy(step)[None, None], torch.from_numpy(k)[None, None])
    np.testing.assert_allclose(ours, torch_out[0, 0].numpy(), atol=1e-6)
    assert ours.min() == 0 and ours.max() == k[:, -1].sum() > 0
    assert xcorr(step[:, ::-1], k).max() == 0  # bright to dark: negative
    assert np.all(xcorr(step.T, k) == 0)  # a horizontal edge: nothing


@pytest.mark.parametrize("name", ["sobel_y", "scharr_y", "prewitt_y"])
def test_y_kernels_are_positive_where_it_gets_brighter_downwards(name):
    step = np.zeros((8, 7), np.float32)
    step[4:, :] = 1.0  # dark top, bright bottom
    k = preset(name)
    np.testing.assert_array_equal(k, preset(name.replace("_y", "_x")).T)
    assert xcorr(step, k).min() == 0 and xcorr(step, k).max() > 0


@pytest.mark.parametrize("name", BLURS)
def test_blurs_keep_a_flat_image_flat(name):
    flat = np.full((12, 12), 0.25, np.float32)
    np.testing.assert_allclose(xcorr(flat, preset(name)), 0.25, rtol=1e-5)


def test_laplacians_and_outline_are_related():
    np.testing.assert_array_equal(preset("outline"), -preset("laplacian_8"))
    assert preset("laplacian_4")[1, 1] == -4 and preset("emboss").sum() == 1


def test_unknown_preset_is_a_kernel_error():
    with pytest.raises(KernelError, match="no preset called 'blurr'"):
        preset("blurr")


# ---------------------------------------------------------------------------------------------
# Parsing and formatting, more forms


@pytest.mark.parametrize(
    "text, want",
    [
        ("1\t0\r\n0\t1\r\n", [[1, 0], [0, 1]]),
        ("[\n  [1, 0],\n  [0, 1],\n]", [[1, 0], [0, 1]]),
        ("[[1 0] [0 1]]", [[1, 0], [0, 1]]),
        ("1/-4 -.5 +3 2E3", [[-0.25, -0.5, 3, 2000]]),
        ("−1/9", [[-1 / 9]]),
    ],
)
def test_more_typed_forms(text, want):
    np.testing.assert_allclose(parse_kernel(text), np.array(want, np.float32))


@pytest.mark.parametrize("text", ["nan", "-inf", "Infinity 1"])
def test_nan_and_infinity_are_refused_with_a_reason(text):
    with pytest.raises(KernelError, match="NaN and infinity"):
        parse_kernel(text)


def test_max_size_is_an_option():
    assert parse_kernel(" ".join(["1"] * 20), max_size=20).shape == (1, 20)
    with pytest.raises(KernelError, match="4 rows is more than the maximum 3"):
        parse_kernel("1;2;3;4", max_size=3)


def test_too_long_text_is_refused_before_any_parsing():
    with pytest.raises(KernelError, match="characters"):
        parse_kernel("[" * 20_000)


@pytest.mark.parametrize(
    "kernel, text",
    [
        (preset("sobel_x"), "-1 0 1; -2 0 2; -1 0 1"),
        (np.full((1, 2), 1 / 9), "0.11111111 0.11111111"),
        (np.array([[1e-20, 2.5e7, -0.0, 1e5, -3e-8]]), "1e-20 2.5e7 0 1e5 -3e-8"),
        (np.array([7.0]), "7"),
    ],
)
def test_format_is_compact(kernel, text):
    assert format_kernel(kernel) == text
    np.testing.assert_array_equal(parse_kernel(text), np.atleast_2d(kernel).astype(np.float32))


@pytest.mark.parametrize("bad", [np.array([[np.nan]]), np.zeros((2, 2, 2)), np.zeros((0, 3))])
def test_format_refuses_what_cannot_round_trip(bad):
    with pytest.raises(KernelError):
        format_kernel(bad)


@settings(deadline=None)
@given(st.text(alphabet="0123456789 .,;/[]-+eE\n\t−nai", max_size=300))
def test_kernel_like_text_is_a_kernel_or_a_kernel_error(text):
    try:
        k = parse_kernel(text)
    except KernelError as e:
        assert str(e)
    else:
        assert k.dtype == np.float32 and k.ndim == 2 and max(k.shape) <= 11
        assert np.isfinite(k).all()


# ---------------------------------------------------------------------------------------------
# Normalising and random kernels


def test_normalize_explains_every_case():
    ones = normalize_kernel(np.ones((2, 2)))
    assert ones.changed and "sum 4" in ones.reason
    same = normalize_kernel(preset("gaussian_3"))
    assert not same.changed and "already sum to 1" in same.reason
    edge = normalize_kernel(preset("laplacian_4"))
    assert not edge.changed and "sum to 0" in edge.reason
    neg = normalize_kernel(-np.ones((1, 3)))
    assert neg.changed and neg.array.sum() == pytest.approx(1.0)
    k = preset("sobel_x")
    normalize_kernel(k).array[:] = 5
    np.testing.assert_array_equal(k, preset("sobel_x"))  # the input is never changed


def test_random_kernel_seeds_bounds_and_sizes():
    a, b = random_kernel(5, 5, 1), random_kernel(5, 5, 2)
    assert a.dtype == np.float32 and not np.array_equal(a, b)
    big = random_kernel(11, 11, 0)
    assert np.abs(big).max() <= 1 / 11 and abs(big.mean()) < 0.02
    for kh, kw in [(0, 3), (3, -1)]:
        with pytest.raises(KernelError):
            random_kernel(kh, kw)
