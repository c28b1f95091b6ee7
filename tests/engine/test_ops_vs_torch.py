"""cnnviz's numpy ops against torch.nn.functional on randomized configurations.

Each test draws a configuration, asks torch, and asks cnnviz: either both refuse it (cnnviz
with a SettingError, a ValueError whose message is its own) or both give the same numbers.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
from cnnviz.shapes import SettingError

torch.set_num_threads(1)

small = st.integers(1, 4)
sizes = st.integers(1, 11)


def maybe_pair(strategy):
    return st.one_of(strategy, st.tuples(strategy, strategy))


def run_torch(fn):
    """torch's result or refusal; an empty output (allowed by torch for transposed convs) counts
    as a refusal, since cnnviz refuses outputs below 1."""
    try:
        out = fn()
        if isinstance(out, tuple):
            return (out, None) if out[0].numel() else (None, "empty output")
        return (out, None) if out.numel() else (None, "empty output")
    except (RuntimeError, ValueError) as e:  # torch's own refusals
        return None, e


def run_ours(fn):
    try:
        return fn(), None
    except SettingError as e:
        assert str(e) and "Traceback" not in str(e)
        return None, e


def agree(ours, theirs, rtol=1e-9, atol=1e-9):
    (got, our_err), (want, torch_err) = ours, theirs
    assert (our_err is None) == (torch_err is None), f"cnnviz: {our_err!r}; torch: {torch_err!r}"
    if want is not None:
        want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return our_err is None


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = draw(maybe_pair(st.integers(1, 5)))
    kh, kw = (k, k) if isinstance(k, int) else k
    padding = draw(st.one_of(st.just("same"), st.just("valid"), maybe_pair(st.integers(0, 4))))
    return dict(
        batch=draw(st.sampled_from([None, 1, 2])),
        x_shape=(cin, draw(sizes), draw(sizes)),
        w_shape=(cout, cin // groups, kh, kw),
        bias=draw(st.booleans()),
        stride=draw(maybe_pair(st.integers(1, 4))),
        padding=padding,
        dilation=draw(maybe_pair(st.integers(1, 3))),
        groups=groups,
        padding_mode=draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
        seed=draw(st.integers(0, 2**16)),
    )


def arrays_for(case, dtype=np.float64):
    rng = np.random.default_rng(case["seed"])
    shape = case["x_shape"] if case["batch"] is None else (case["batch"], *case["x_shape"])
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(case["w_shape"]).astype(dtype)
    b = rng.standard_normal(case["w_shape"][0]).astype(dtype) if case["bias"] else None
    return x, w, b


def torch_conv(case, x, w, b):
    """nn.Conv2d is torch's reference for padding modes; F.conv2d has zeros only."""
    xt = torch.from_numpy(x)
    if xt.ndim == 3:
        xt = xt[None]
    o, cg, kh, kw = w.shape
    layer = torch.nn.Conv2d(
        cg * case["groups"],
        o,
        (kh, kw),
        case["stride"],
        case["padding"],
        case["dilation"],
        case["groups"],
        b is not None,
        case["padding_mode"],
        dtype=xt.dtype,
    )
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        if b is not None:
            layer.bias.copy_(torch.from_numpy(b))
        y = layer(xt)
    return y[0] if x.ndim == 3 else y


def ours_conv(case, x, w, b):
    return cnnviz.conv2d(
        x,
        w,
        b,
        case["stride"],
        case["padding"],
        case["dilation"],
        case["groups"],
        case["padding_mode"],
    )


@given(conv_cases())
def test_conv2d_matches_torch(case):
    x, w, b = arrays_for(case)
    agree(run_ours(lambda: ours_conv(case, x, w, b)), run_torch(lambda: torch_conv(case, x, w, b)))


@given(conv_cases())
def test_conv2d_float32_matches_torch(case):
    x, w, b = arrays_for(case, np.float32)
    got, err = run_ours(lambda: ours_conv(case, x, w, b))
    if err is None:
        assert got.dtype == np.float32
    agree((got, err), run_torch(lambda: torch_conv(case, x, w, b)), rtol=1e-4, atol=1e-4)


@given(conv_cases())
def test_partials_sum_to_conv(case):
    x, w, b = arrays_for(case)
    try:
        parts = cnnviz.conv2d_partials(
            x,
            w,
            case["stride"],
            case["padding"],
            case["dilation"],
            case["groups"],
            case["padding_mode"],
        )
    except SettingError:
        return
    assert parts.shape[-3] == w.shape[1]
    np.testing.assert_array_equal(cnnviz.sum_partials(parts, b), ours_conv(case, x, w, b))


@given(conv_cases(), st.data())
def test_trace_total_is_exactly_the_conv_value(case, data):
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    x, w, b = arrays_for(case, dtype)
    if x.ndim == 4:
        x = x[0]
    try:
        y = ours_conv(case, x, w, b)
    except SettingError:
        return
    o = data.draw(st.integers(0, y.shape[0] - 1))
    r = data.draw(st.integers(0, y.shape[1] - 1))
    c = data.draw(st.integers(0, y.shape[2] - 1))
    t = cnnviz.trace(
        x,
        w,
        b,
        case["stride"],
        case["padding"],
        case["dilation"],
        case["groups"],
        case["padding_mode"],
        out_channel=o,
        row=r,
        col=c,
    )
    assert t.total == y[o, r, c]  # bitwise: same order, same dtype
    assert len(t.channels) == w.shape[1]
    for ch in t.channels:
        np.testing.assert_array_equal(ch.products, ch.window * ch.weights)
        # padding taps read zeros in zeros mode
        if case["padding_mode"] == "zeros":
            assert np.all(ch.window[t.is_padding] == 0)
        np.testing.assert_allclose(ch.sum, ch.products.sum(), rtol=1e-5, atol=1e-5)


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    return dict(
        batch=draw(st.sampled_from([None, 1, 2])),
        x_shape=(
            groups * draw(st.integers(1, 2)),
            draw(st.integers(1, 7)),
            draw(st.integers(1, 7)),
        ),
        w_out=draw(st.integers(1, 2)),
        k=draw(maybe_pair(st.integers(1, 4))),
        stride=draw(maybe_pair(st.integers(1, 4))),
        padding=draw(maybe_pair(st.integers(0, 3))),
        output_padding=draw(maybe_pair(st.integers(0, 3))),
        dilation=draw(maybe_pair(st.integers(1, 3))),
        groups=groups,
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


@given(transpose_cases())
def test_conv_transpose2d_matches_torch(case):
    rng = np.random.default_rng(case["seed"])
    shape = case["x_shape"] if case["batch"] is None else (case["batch"], *case["x_shape"])
    x = rng.standard_normal(shape)
    kh, kw = (case["k"], case["k"]) if isinstance(case["k"], int) else case["k"]
    w = rng.standard_normal((case["x_shape"][0], case["w_out"], kh, kw))
    b = rng.standard_normal(case["w_out"] * case["groups"]) if case["bias"] else None
    args = (
        case["stride"],
        case["padding"],
        case["output_padding"],
        case["groups"],
        case["dilation"],
    )

    def theirs():
        bt = None if b is None else torch.from_numpy(b)
        return F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), bt, *args)

    agree(run_ours(lambda: cnnviz.conv_transpose2d(x, w, b, *args)), run_torch(theirs))


@st.composite
def pool_cases(draw):
    return dict(
        shape=draw(st.sampled_from([(2,), (1, 3), (2, 1)])) + (draw(sizes), draw(sizes)),
        kernel_size=draw(maybe_pair(st.integers(1, 5))),
        stride=draw(st.one_of(st.none(), maybe_pair(st.integers(1, 4)))),
        padding=draw(maybe_pair(st.integers(0, 3))),
        ceil_mode=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
        ties=draw(st.booleans()),
    )


def pool_input(case):
    rng = np.random.default_rng(case["seed"])
    if case["ties"]:  # few distinct values: ties decide which index wins
        return rng.integers(-2, 3, size=case["shape"]).astype(np.float64)
    return rng.standard_normal(case["shape"])


@given(pool_cases(), maybe_pair(st.integers(1, 3)))
def test_max_pool2d_and_indices_match_torch(case, dilation):
    x = pool_input(case)
    args = dict(
        kernel_size=case["kernel_size"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=dilation,
        ceil_mode=case["ceil_mode"],
    )
    ours = run_ours(lambda: cnnviz.max_pool2d(x, return_indices=True, **args))
    theirs = run_torch(lambda: F.max_pool2d(torch.from_numpy(x), return_indices=True, **args))
    if ours[1] is None and theirs[1] is None:
        agree((ours[0][0], None), (theirs[0][0], None))
        idx, want = ours[0][1], theirs[0][1].numpy()
        # a window that sees only padding (possible with dilation): -inf, and cnnviz says -1
        # where torch leaves an out-of-range index
        empty = idx == -1
        assert np.all(np.isneginf(ours[0][0][empty]))
        np.testing.assert_array_equal(idx[~empty], want[~empty])
    else:
        agree((None, ours[1]), (None, theirs[1]))


def test_max_pool2d_nan_and_inf_like_torch():
    x = np.array([[[1.0, np.nan, 3.0, -np.inf], [np.inf, 2.0, np.nan, np.nan]]])
    got, idx = cnnviz.max_pool2d(x, 2, return_indices=True)
    want, widx = F.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(got, want.numpy())
    np.testing.assert_array_equal(idx, widx.numpy())


@given(pool_cases(), st.booleans(), st.one_of(st.none(), st.integers(1, 9)))
def test_avg_pool2d_matches_torch(case, count_include_pad, divisor_override):
    x = pool_input(case)
    args = dict(
        kernel_size=case["kernel_size"],
        stride=case["stride"],
        padding=case["padding"],
        ceil_mode=case["ceil_mode"],
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    agree(
        run_ours(lambda: cnnviz.avg_pool2d(x, **args)),
        run_torch(lambda: F.avg_pool2d(torch.from_numpy(x), **args)),
    )


@given(st.integers(1, 12), st.integers(1, 12), maybe_pair(st.integers(1, 6)), st.integers(0, 99))
def test_adaptive_avg_pool2d_matches_torch(h, w, out, seed):
    x = np.random.default_rng(seed).standard_normal((2, h, w))
    agree(
        run_ours(lambda: cnnviz.adaptive_avg_pool2d(x, out)),
        run_torch(lambda: F.adaptive_avg_pool2d(torch.from_numpy(x), out)),
    )


def test_global_avg_pool_is_channel_mean():
    x = np.random.default_rng(0).standard_normal((3, 5, 7))
    got = cnnviz.global_avg_pool2d(x)
    assert got.shape == (3, 1, 1)
    np.testing.assert_allclose(got[:, 0, 0], x.mean(axis=(1, 2)))


extreme = st.floats(-1e4, 1e4, allow_nan=False) | st.sampled_from([1e30, -1e30, 88.8, -104.0])


@given(st.lists(extreme, min_size=1, max_size=12))
def test_softmax_and_log_softmax_on_extreme_logits(values):
    for dtype in (np.float32, np.float64):
        x = np.array(values, dtype=dtype)
        got = cnnviz.softmax(x)
        want = F.softmax(torch.from_numpy(x), dim=-1).numpy()
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.sum(), 1.0, rtol=1e-5)
        lwant = F.log_softmax(torch.from_numpy(x), dim=-1).numpy()
        np.testing.assert_allclose(cnnviz.log_softmax(x), lwant, rtol=1e-5, atol=1e-3)


def test_softmax_with_infinities_like_torch():
    for row in ([np.inf, 1.0], [-np.inf, -np.inf], [-np.inf, 0.0, 1.0]):
        x = np.array(row)
        want = F.softmax(torch.from_numpy(x), dim=0).numpy()
        np.testing.assert_array_equal(np.isnan(cnnviz.softmax(x)), np.isnan(want))
        np.testing.assert_allclose(cnnviz.softmax(x)[~np.isnan(want)], want[~np.isnan(want)])


@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=20))
def test_activations_match_torch(values):
    x = np.array(values)
    t = torch.from_numpy(x)
    pairs = [
        (cnnviz.relu(x), F.relu(t)),
        (cnnviz.leaky_relu(x), F.leaky_relu(t)),
        (cnnviz.leaky_relu(x, 0.2), F.leaky_relu(t, 0.2)),
        (cnnviz.sigmoid(x), torch.sigmoid(t)),
        (cnnviz.tanh(x), torch.tanh(t)),
        (cnnviz.gelu(x), F.gelu(t)),
        (cnnviz.gelu(x, "tanh"), F.gelu(t, approximate="tanh")),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-12)


def test_relu_does_not_cap_at_one():
    assert cnnviz.relu(np.array([-3.0, 0.5, 7.0])).tolist() == [0.0, 0.5, 7.0]


@pytest.mark.parametrize(
    "bad",
    [
        dict(stride=0),
        dict(stride=1.5),
        dict(dilation=0),
        dict(padding=-1),
        dict(padding="full-ish"),
        dict(groups=2),
    ],
)
def test_bad_conv_arguments_get_a_sentence(bad):
    x = np.zeros((3, 5, 5))
    w = np.zeros((2, 3, 3, 3))
    with pytest.raises(SettingError) as e:
        cnnviz.conv2d(x, w, **bad)
    assert str(e.value)[0].isalpha() and str(e.value).endswith(".")


def test_bad_shapes_get_a_sentence():
    with pytest.raises(SettingError, match="axes"):
        cnnviz.conv2d(np.zeros((5, 5)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(SettingError, match="input channels"):
        cnnviz.conv2d(np.zeros((3, 5, 5)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(SettingError, match="bias"):
        cnnviz.conv2d(np.zeros((1, 5, 5)), np.zeros((2, 1, 3, 3)), np.zeros(3))


@given(pool_cases(), maybe_pair(st.integers(1, 3)))
def test_max_pool2d_values_without_indices_match_torch(case, dilation):
    x = pool_input(case)
    if case["seed"] % 3 == 0:
        x.flat[case["seed"] % x.size] = np.nan
    args = dict(
        kernel_size=case["kernel_size"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=dilation,
        ceil_mode=case["ceil_mode"],
    )
    agree(
        run_ours(lambda: cnnviz.max_pool2d(x, **args)),
        run_torch(lambda: F.max_pool2d(torch.from_numpy(x), **args)),
    )
