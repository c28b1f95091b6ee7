"""The playground's chain (conv -> activation -> pool, in three colour modes) against torch,
and the PyTorch code the page shows, run for real."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnviz import playground
from cnnviz.render import padded
from cnnviz.shapes import SettingError

TORCH_ACT = {
    "none": lambda t, slope: t,
    "relu": lambda t, slope: F.relu(t),
    "leaky_relu": lambda t, slope: F.leaky_relu(t, slope),
    "sigmoid": lambda t, slope: torch.sigmoid(t),
    "tanh": lambda t, slope: torch.tanh(t),
}


@st.composite
def cases(draw):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    image = draw(
        st.integers(0, 2**32 - 1).map(lambda s: np.random.default_rng(s).random((h, w, 3)))
    )
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    filters = tuple(rng.normal(size=(kh, kw)).astype(np.float32) for _ in range(n))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(
        st.one_of(
            st.tuples(st.integers(0, 3), st.integers(0, 3)),
            st.sampled_from(["valid", "same", "full"]),
        )
    )
    s = playground.Settings(
        filters=filters,
        channels=draw(st.sampled_from(list(playground.CHANNEL_MODES))),
        channel_weights=tuple(draw(st.floats(-2, 2, width=32)) for _ in range(3)),
        stride=stride,
        padding=padding,
        padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        bias=draw(st.floats(-1, 1, width=32)),
        activation=draw(st.sampled_from(list(TORCH_ACT))),
        slope=0.1,
        pool=draw(st.sampled_from(playground.POOLS)),
        pool_size=draw(st.integers(1, 3)),
        pool_stride=draw(st.integers(1, 3)),
    )
    return image.astype(np.float32), s


def torch_chain(image, s: playground.Settings, r: playground.Result):
    x = torch.from_numpy(r.input)[None]
    pt, pb, pl, pr = r.pads
    if s.padding_mode == "zeros":
        x = F.pad(x, (pl, pr, pt, pb))
    else:
        x = F.pad(x, (pl, pr, pt, pb), mode=s.padding_mode)
    y = F.conv2d(
        x,
        torch.from_numpy(r.weight),
        torch.from_numpy(r.bias),
        stride=s.stride,
        dilation=s.dilation,
        groups=r.groups,
    )
    a = TORCH_ACT[s.activation](y, s.slope)
    p = None
    if s.pool == "max":
        p = F.max_pool2d(a, s.pool_size, s.pool_stride)
    elif s.pool == "avg":
        p = F.avg_pool2d(a, s.pool_size, s.pool_stride)
    return y[0].numpy(), a[0].numpy(), None if p is None else p[0].numpy()


@given(cases())
def test_chain_matches_torch(case) -> None:
    image, s = case
    try:
        r = playground.run(image, s)
    except SettingError:
        assume(False)
    y, a, p = torch_chain(image, s, r)
    assert r.feature.shape == y.shape
    assert r.feature.shape[1:] == r.conv_size.size
    assert len(y) == len(s.filters) * (3 if s.channels == "depthwise" else 1)
    np.testing.assert_allclose(r.feature, y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(r.activated, a, rtol=1e-4, atol=1e-4)
    if s.pool == "none":
        assert r.pooled is None
    else:
        assert r.pooled.shape == p.shape and r.pooled.shape[1:] == r.pool_size.size
        np.testing.assert_allclose(r.pooled, p, rtol=1e-4, atol=1e-4)
    if s.channels == "rgb":  # the three partial maps add up (plus the bias) to each map
        np.testing.assert_allclose(r.partials.sum(axis=1) + s.bias, r.feature, atol=1e-5)


@given(cases())
def test_shown_torch_code_computes_the_same_maps(case) -> None:
    image, s = case
    try:
        r = playground.run(image, s)
    except SettingError:
        assume(False)
    assume(not (s.padding == "same" and s.stride != (1, 1)))
    code = playground.torch_code(s, r.input.shape[0])
    scope = {
        "torch": torch,
        "nn": torch.nn,
        "F": F,
        "x": torch.from_numpy(r.input)[None],
        "weight": torch.from_numpy(r.weight),
        "bias": torch.from_numpy(r.bias),
        "filters": [torch.from_numpy(f) for f in s.filters],
    }
    exec(code, scope)
    np.testing.assert_allclose(scope["y"][0].numpy(), r.feature, rtol=1e-4, atol=1e-4)
    layer = scope["layer"]
    assert tuple(layer.weight.shape) == r.weight.shape
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(r.weight))
        layer.bias.copy_(torch.from_numpy(r.bias))
        out = layer(torch.from_numpy(r.input)[None])
    np.testing.assert_allclose(out[0].numpy(), r.feature, rtol=1e-4, atol=1e-4)


def test_gray_uses_luminance_and_modes_give_their_depth() -> None:
    image = np.random.default_rng(0).random((6, 7, 3)).astype(np.float32)
    k = np.ones((3, 3), np.float32)
    gray = playground.run(image, playground.Settings(filters=(k,), channels="gray"))
    expected = image @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(gray.input[0], expected, rtol=1e-6)
    assert gray.feature.shape == (1, 4, 5)
    dw = playground.run(image, playground.Settings(filters=(k, k), channels="depthwise"))
    assert dw.feature.shape == (6, 4, 5) and dw.groups == 3
    rgb = playground.run(image, playground.Settings(filters=(k, k, k), channels="rgb"))
    assert rgb.feature.shape == (3, 4, 5) and rgb.partials.shape == (3, 3, 4, 5)


def test_impossible_settings_raise_setting_errors_with_fixes() -> None:
    image = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(SettingError) as err:
        playground.run(image, playground.Settings(filters=(np.ones((7, 7), np.float32),)))
    assert err.value.fixes
    with pytest.raises(SettingError):
        playground.run(
            image,
            playground.Settings(filters=(np.ones((3, 3), np.float32),), pool="max", pool_size=3),
        )


def test_zoom_frames_the_window_and_tints_only_padding() -> None:
    image = np.full((10, 12, 3), 0.5, np.float32)
    s = playground.Settings(filters=(np.ones((3, 3), np.float32),), padding=(2, 2))
    r = playground.run(image, s)
    # the top-left output cell reads rows/cols -2..0: two of its three rows are padding
    z = padded.zoom(r.padded, r.pads, (-2, -2, 0, 0), margin=1, side=60)
    assert z.dtype == np.uint8 and z.shape[0] == z.shape[1] >= 60
    f = z.shape[0] // 4  # the crop is 4 x 4 cells: rows -2..1 (nothing above the padding)
    gray = np.array([128, 128, 128])
    assert np.abs(z[3 * f + f // 2, 3 * f + f // 2].astype(int) - gray).max() <= 1  # input cell
    assert z[f // 2 + 2, 2 * f + f // 2][0] > z[f // 2 + 2, 2 * f + f // 2][2]  # padding: orange
    assert tuple(z[0, f // 2]) == padded.WINDOW  # the frame starts at the window's corner


@st.composite
def depthwise_cases(draw):
    """Depthwise settings with several filters, every other setting random."""
    image, s = draw(cases())
    n = draw(st.integers(2, 4))
    kh, kw = s.filters[0].shape
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    filters = tuple(rng.normal(size=(kh, kw)).astype(np.float32) for _ in range(n))
    return image, replace(s, channels="depthwise", filters=filters)


@given(depthwise_cases())
def test_depthwise_maps_are_each_colour_filter_pair_once_in_torchs_order(case) -> None:
    """Map c*k + j is colour c convolved with filter j alone (torch, one channel, one filter),
    every (colour, filter) pair once, captioned with both."""
    image, s = case
    try:
        r = playground.run(image, s)
    except SettingError:
        assume(False)
    k = len(s.filters)
    pairs = playground.map_sources(s, 3)
    assert pairs == [(c, j) for c in range(3) for j in range(k)]  # torch's channel-major order
    assert r.groups == 3 and r.weight.shape == (3 * k, 1, *s.filters[0].shape)
    x = torch.from_numpy(r.input)[None]
    pt, pb, pl, pr = r.pads
    mode = "constant" if s.padding_mode == "zeros" else s.padding_mode
    xp = F.pad(x, (pl, pr, pt, pb), mode=mode)
    for o, (c, j) in enumerate(pairs):
        alone = F.conv2d(
            xp[:, c : c + 1],
            torch.from_numpy(s.filters[j])[None, None],
            torch.tensor([s.bias]),
            stride=s.stride,
            dilation=s.dilation,
        )
        np.testing.assert_allclose(r.feature[o], alone[0, 0].numpy(), rtol=1e-4, atol=1e-4)
    names = [f"filter{j}" for j in range(k)]
    labels = playground.map_labels(s, 3, names)
    assert labels == [f"{'RGB'[c]} × filter{j}" for c, j in pairs]
    assert len(set(labels)) == 3 * k


@given(depthwise_cases())
def test_depthwise_code_builds_the_weight_from_the_filters(case) -> None:
    """The shown code, given only the 2-D filters (no weight tensor), makes the page's maps."""
    image, s = case
    try:
        r = playground.run(image, s)
    except SettingError:
        assume(False)
    assume(not (s.padding == "same" and s.stride != (1, 1)))
    code = playground.torch_code(s, 3)
    assert "c*" in code and "filter j" in code
    scope = {
        "torch": torch,
        "nn": torch.nn,
        "F": F,
        "x": torch.from_numpy(r.input)[None],
        "bias": torch.from_numpy(r.bias),
        "filters": [torch.from_numpy(f) for f in s.filters],
    }
    exec(code, scope)
    np.testing.assert_array_equal(scope["weight"].numpy(), r.weight)
    np.testing.assert_allclose(scope["y"][0].numpy(), r.feature, rtol=1e-4, atol=1e-4)
