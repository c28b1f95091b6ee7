"""cnnviz.backward against torch autograd on randomized configurations, and the traces.

Each case draws a configuration; torch either refuses it (and cnnviz refuses too, with a
SettingError) or both compute the gradients, which must agree. The traces must equal the map's
number exactly (same float32 additions in the same order), and their terms must be the
products they claim to be.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
from cnnviz import backprop as bp
from cnnviz.kernels import parse_kernel
from cnnviz.shapes import SettingError

torch.set_num_threads(1)


def maybe_pair(strategy):
    return st.one_of(strategy, st.tuples(strategy, strategy))


def values(rng, shape, ints: bool):
    """Small integers (exact sums, and ties for max pooling) or normal floats."""
    if ints:
        return rng.integers(-2, 3, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = draw(maybe_pair(st.integers(1, 4)))
    kh, kw = (k, k) if isinstance(k, int) else k
    return dict(
        x_shape=(cin, draw(st.integers(1, 9)), draw(st.integers(1, 9))),
        w_shape=(cout, cin // groups, kh, kw),
        stride=draw(maybe_pair(st.integers(1, 4))),
        padding=draw(st.one_of(st.just("same"), st.just("valid"), maybe_pair(st.integers(0, 3)))),
        dilation=draw(maybe_pair(st.integers(1, 3))),
        groups=groups,
        ints=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


def torch_conv_grads(x, w, gy_seed, ints, **kw):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], requires_grad=True)
    y = F.conv2d(xt[None], wt, bt, **kw)[0]
    gy = values(np.random.default_rng(gy_seed), tuple(y.shape), ints)
    y.backward(torch.tensor(gy))
    return gy, xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@given(conv_cases())
def test_conv2d_backward_matches_autograd(case):
    rng = np.random.default_rng(case["seed"])
    x, w = values(rng, case["x_shape"], case["ints"]), values(rng, case["w_shape"], case["ints"])
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    try:
        gy, gx_t, gw_t, gb_t = torch_conv_grads(x, w, case["seed"] + 1, case["ints"], **kw)
    except (RuntimeError, ValueError):
        with pytest.raises(SettingError):
            cnnviz.conv2d(x, w, **kw)
        return
    gx, gw, gb = cnnviz.conv2d_backward(x, w, gy, **kw)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (w.shape[0],)
    tol = 0 if case["ints"] else 1e-4
    np.testing.assert_allclose(gx, gx_t, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, gw_t, rtol=tol, atol=tol)
    np.testing.assert_allclose(gb, gb_t, rtol=tol, atol=tol)
    # grad_input is the transposed convolution of dL/dy with the same kernel
    # (checked whenever the padding is one number per side)
    if not isinstance(kw["padding"], str):
        ph, pw = (kw["padding"],) * 2 if isinstance(kw["padding"], int) else kw["padding"]
        (sh, sw), (dh, dw) = [
            (v, v) if isinstance(v, int) else v for v in (kw["stride"], kw["dilation"])
        ]
        kh, kw_ = w.shape[-2:]
        oph = x.shape[1] + 2 * ph - dh * (kh - 1) - 1 - (gy.shape[1] - 1) * sh
        opw = x.shape[2] + 2 * pw - dw * (kw_ - 1) - 1 - (gy.shape[2] - 1) * sw
        if oph < max(sh, dh) and opw < max(sw, dw):
            t = cnnviz.conv_transpose2d(
                gy, w, None, (sh, sw), (ph, pw), (oph, opw), kw["groups"], (dh, dw)
            )
            np.testing.assert_allclose(t, gx, rtol=1e-5, atol=1e-5)


@given(conv_cases(), st.data())
def test_conv_traces_equal_the_maps_bit_for_bit(case, data):
    rng = np.random.default_rng(case["seed"])
    x, w = values(rng, case["x_shape"], False), values(rng, case["w_shape"], False)
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    try:
        y = cnnviz.conv2d(x, w, **kw)
    except SettingError:
        return
    gy = values(rng, y.shape, False)
    gx, gw, gb = cnnviz.conv2d_backward(x, w, gy, **kw)
    o, ci, i, j = (data.draw(st.integers(0, n - 1)) for n in w.shape)
    t = cnnviz.trace_grad_weight(x, w, gy, **kw, out_channel=o, in_channel=ci, row=i, col=j)
    assert t.total == gw[o, ci, i, j]
    assert len(t.terms) == y.shape[1] * y.shape[2]
    for term in t.terms:
        assert term.value == np.float32(term.factor) * np.float32(term.grad)
        assert term.grad == gy[o, term.cell[0], term.cell[1]]
        r, c = term.pixel
        inside = 0 <= r < x.shape[1] and 0 <= c < x.shape[2]
        assert term.is_padding == (not inside)
        assert term.factor == (
            x[(o // (w.shape[0] // case["groups"])) * w.shape[1] + ci, r, c] if inside else 0
        )
    c, r, col = (data.draw(st.integers(0, n - 1)) for n in x.shape)
    t = cnnviz.trace_grad_input(x, w, gy, **kw, channel=c, row=r, col=col)
    assert t.total == gx[c, r, col]
    for term in t.terms:
        assert term.factor == w[term.out_channel, c % w.shape[1], term.tap[0], term.tap[1]]
        assert term.grad == gy[term.out_channel, term.cell[0], term.cell[1]]
    ob = data.draw(st.integers(0, w.shape[0] - 1))
    assert cnnviz.trace_grad_bias(gy, ob).total == gb[ob]


@st.composite
def pool_cases(draw, kind):
    k = draw(maybe_pair(st.integers(1, 4)))
    case = dict(
        x_shape=(draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))),
        kernel_size=k,
        stride=draw(st.one_of(st.none(), maybe_pair(st.integers(1, 4)))),
        padding=draw(maybe_pair(st.integers(0, 2))),
        ceil_mode=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
        ints=draw(st.booleans()),  # small integers: many ties
    )
    if kind == "max":
        case["dilation"] = draw(maybe_pair(st.integers(1, 3)))
    else:
        case["count_include_pad"] = draw(st.booleans())
        case["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 5)))
    return case


def pool_args(case):
    return {k: v for k, v in case.items() if k not in ("x_shape", "seed", "ints")}


@pytest.mark.parametrize("kind", ["max", "avg"])
@given(data=st.data())
def test_pool_backward_matches_autograd(kind, data):
    case = data.draw(pool_cases(kind))
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["x_shape"], case["ints"])
    args = pool_args(case)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    ours = cnnviz.max_pool2d_backward if kind == "max" else cnnviz.avg_pool2d_backward
    xt = torch.tensor(x, requires_grad=True)
    try:
        y = fn(xt, **args)
        assert y.numel()
    except (RuntimeError, ValueError, AssertionError):
        with pytest.raises(SettingError):
            ours(x, np.zeros((1, 1, 1), np.float32), **args)
        return
    gy = values(rng, tuple(y.shape), case["ints"])
    if kind == "max":
        _, index = cnnviz.max_pool2d(x, **args, return_indices=True)
        if (index < 0).any():
            # A window that saw only padding (dilation): torch's backward aborts the process
            # (its index points outside the input). Ours drops that window's gradient.
            got = ours(x, gy, **args)
            assert got.sum(dtype=np.float64) == pytest.approx(
                gy[index >= 0].sum(dtype=np.float64), abs=1e-4
            )
            return
    y.backward(torch.tensor(gy))
    got = ours(x, gy, **args)
    np.testing.assert_allclose(got, xt.grad.numpy(), rtol=1e-6, atol=1e-6)
    # every pixel's trace is the map's number, bit for bit
    trace = cnnviz.trace_max_pool_grad if kind == "max" else cnnviz.trace_avg_pool_grad
    for c, r, col in np.ndindex(*x.shape):
        t = trace(x, gy, **args, channel=c, row=r, col=col)
        assert t.total == got[c, r, col]


@pytest.mark.parametrize(
    "bad", [2.5, 0, -1, True, "2", float("nan"), float("inf"), -(10**400), 10**400]
)
def test_a_divisor_that_is_not_a_whole_number_from_1_is_refused_both_ways(bad):
    """Forward and backward read divisor_override with one rule (torch refuses 2.5 too; before,
    the forward pass divided by 2.5 and the backward pass by 2)."""
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    with pytest.raises(SettingError, match="divisor_override"):
        cnnviz.avg_pool2d(x, 2, divisor_override=bad)
    with pytest.raises(SettingError, match="divisor_override"):
        cnnviz.avg_pool2d_backward(x, np.ones((1, 2, 2), np.float32), 2, divisor_override=bad)


def test_a_whole_float_divisor_is_the_whole_number():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    want = F.avg_pool2d(torch.from_numpy(x), 2, divisor_override=3).numpy()
    np.testing.assert_array_equal(cnnviz.avg_pool2d(x, 2, divisor_override=3.0), want)
    gy = np.ones((1, 2, 2), np.float32)
    np.testing.assert_array_equal(
        cnnviz.avg_pool2d_backward(x, gy, 2, divisor_override=3.0),
        cnnviz.avg_pool2d_backward(x, gy, 2, divisor_override=np.int64(3)),
    )


def test_max_pool_ties_go_to_the_first_cell_in_reading_order_as_in_torch():
    x = np.ones((1, 4, 4), np.float32)
    gy = np.float32([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
    got = cnnviz.max_pool2d_backward(x, gy, 2, 1)
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 2, 1).backward(torch.tensor(gy))
    np.testing.assert_array_equal(got, xt.grad.numpy())
    assert got[0, 3].tolist() == [0, 0, 0, 0]  # the top-left cell of each window won


def test_wrong_grad_output_shape_is_a_sentence():
    x = np.zeros((1, 4, 4), np.float32)
    with pytest.raises(SettingError, match="forward output's shape"):
        cnnviz.conv2d_backward(x, np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 2, 2)))
    with pytest.raises(SettingError, match="forward output's shape"):
        cnnviz.max_pool2d_backward(x, np.zeros((1, 3, 3)), 2)


def test_batched_conv_backward_sums_over_the_batch():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 2, 3))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, stride=2, padding=1)
    gy = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(gy))
    gx, gw, gb = cnnviz.conv2d_backward(x, w, gy, stride=2, padding=1)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), rtol=1e-10)


# ------------------------------------------------------------------- the page's lesson


@st.composite
def lessons(draw):
    c = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    return dict(
        c=c,
        h=draw(st.integers(3, 7)),
        w=draw(st.integers(3, 7)),
        k=k,
        stride=draw(st.integers(1, 3)),
        padding=draw(st.integers(0, 2)),
        dilation=draw(st.integers(1, 2)),
        pool=draw(st.sampled_from(bp.POOLS)),
        pool_size=draw(st.integers(1, 2)),
        lr=draw(st.sampled_from([0.0, 0.01, 0.1, 1.0])),
        bias=draw(st.integers(-3, 3)),
        seed=draw(st.integers(0, 2**16)),
    )


def torch_lesson(x, w, b, target, ls):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w[None], requires_grad=True)
    bt = torch.tensor([b], dtype=torch.float32, requires_grad=True)
    y = F.conv2d(xt[None], wt, bt, stride=ls.stride, padding=ls.padding, dilation=ls.dilation)
    y.retain_grad()
    z = y
    if ls.pool == "max":
        z = F.max_pool2d(y, ls.pool_size)
    elif ls.pool == "avg":
        z = F.avg_pool2d(y, ls.pool_size)
    loss = ((z - torch.tensor(target)[None]) ** 2).sum()
    loss.backward()
    opt = torch.optim.SGD([wt, bt], lr=ls.lr)
    opt.step()
    return loss.item(), y.grad[0, 0].numpy(), xt.grad.numpy(), wt, bt


@given(lessons())
def test_every_number_of_the_lesson_is_torch_autograds(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-2, 3, (case["c"], case["h"], case["w"])).astype(np.float32)
    w = rng.integers(-2, 3, (case["c"], case["k"], case["k"])).astype(np.float32)
    try:
        ls = bp.lesson(
            x,
            w,
            case["bias"],
            None,
            case["stride"],
            case["padding"],
            case["dilation"],
            case["pool"],
            case["pool_size"],
            case["lr"],
        )
    except SettingError:
        return
    target = rng.integers(-2, 3, ls.z.shape).astype(np.float32)[0]
    ls = bp.lesson(
        x,
        w,
        case["bias"],
        target,
        case["stride"],
        case["padding"],
        case["dilation"],
        case["pool"],
        case["pool_size"],
        case["lr"],
    )
    loss, gy, gx, wt, bt = torch_lesson(x, w, case["bias"], target, ls)
    assert ls.loss == loss  # integers: exact
    np.testing.assert_array_equal(ls.grad_y[0], gy)
    np.testing.assert_array_equal(ls.grad_x, gx)
    np.testing.assert_allclose(ls.new_weight, wt.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ls.new_bias, bt.item(), rtol=1e-6, atol=1e-6)
    # every traced number is the map's, and its written sum ends with it
    for idx in np.ndindex(*w.shape):
        t = bp.weight_trace(ls, *idx)
        assert t.total == ls.grad_w[(0, *idx)]
        assert bp.weight_equation(t, case["c"]).endswith("= " + bp.fmt(t.total))
    for idx in np.ndindex(*x.shape):
        t = bp.input_trace(ls, *idx)
        assert t.total == ls.grad_x[idx]
        assert bp.input_equation(t).endswith(bp.fmt(t.total)) or not t.terms
    assert bp.bias_trace(ls).total == ls.grad_b
    np.testing.assert_array_equal(bp.weight_grad_as_correlation(ls), ls.grad_w)
    if ls.pool != "none":
        for r, c in np.ndindex(*ls.y.shape[1:]):
            assert bp.pool_trace(ls, r, c).total == ls.grad_y[0, r, c]


def test_the_default_lesson_written_out():
    """The page's example, a 4×4 input and a 2×2 kernel: the sums a student checks by hand."""
    x = parse_kernel(bp.DEFAULT_INPUT[0])
    w = parse_kernel(bp.DEFAULT_KERNEL[0])[None]
    target = parse_kernel(bp.DEFAULT_TARGET)
    ls = bp.lesson(x, w, 0, target, lr=bp.DEFAULT_LR)
    assert ls.y[0].tolist() == [[1, 6, -1], [4, 5, 6], [-1, 0, 3]]
    assert bp.grad_out_equation(ls, 0, 1) == "dL/dy[1,2] = 2 × (6 − 0) = 12"
    t = bp.weight_trace(ls, 0, 0, 0)
    assert bp.weight_equation(t) == (
        "dL/dW[1,1] = 1×(-6) + 2×12 + 0×(-6) + 3×4 + 1×(-2) + 2×4 + 0×(-2) + 1×(-4) + 3×(-2) = 26"
    )
    assert bp.input_equation(bp.input_trace(ls, 0, 1, 1)) == (
        "dL/dx[2,2] = 1×(-2) + (-1)×4 + 0×12 + 2×(-6) = -18"
    )
    assert bp.bias_equation(bp.bias_trace(ls)) == (
        "dL/db = (-6) + 12 + (-6) + 4 + (-2) + 4 + (-2) + (-4) + (-2) = -2"
    )
    assert bp.update_equation(ls, 0, 0, 0) == "W[1,1] ← 1 − 0.01 × 26 = 0.74"
    assert ls.new_loss < ls.loss


def test_transposed_settings_reproduce_grad_input():
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, (1, 7, 7)).astype(np.float32)
    ls = bp.lesson(x, rng.integers(-2, 3, (1, 3, 2)), 1, None, stride=2, padding=1, dilation=1)
    s = bp.transposed_settings(ls)
    assert s["output_padding"] == (0, 1)
    np.testing.assert_array_equal(cnnviz.conv_transpose2d(ls.grad_y, ls.weight, **s), ls.grad_x)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(x=np.ones((2, 2)), weight=np.ones((3, 3))), "too small|larger"),
        (dict(x=np.ones((4, 4)), weight=np.ones((1, 2, 2))), ""),
        (dict(x=np.ones((4, 4)), weight=np.ones((2, 2, 2))), "one kernel slice per input"),
        (dict(x=np.ones((4, 4)), weight=np.ones((2, 2)), target=np.ones((2, 2))), "target"),
        (dict(x=np.full((4, 4), 1e30), weight=np.full((2, 2), 1e30)), "too large"),
        (
            dict(x=np.ones((4, 4)), weight=np.ones((2, 2)), pool="max", pool_size=4),
            "pooling window",
        ),
    ],
)
def test_the_lesson_refuses_with_a_sentence(kwargs, words):
    try:
        bp.lesson(**kwargs)
    except SettingError as err:
        assert words and __import__("re").search(words, str(err)), str(err)
    else:
        assert not words
