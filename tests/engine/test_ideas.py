"""cnnviz.ideas against torch: Adam + L2 and AdamW vs torch.optim, batch norm vs
F.batch_norm, parameter counts vs real nn modules, the flip vs scipy's convolve2d, and shift
equivariance."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import convolve2d

from cnnviz import ideas

torch.set_num_threads(1)


@given(
    n=st.integers(1, 4),
    lr=st.sampled_from([1e-3, 0.01, 0.1, 0.5]),
    wd=st.sampled_from([0.0, 0.01, 0.1, 0.5]),
    decoupled=st.booleans(),
    steps=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_adam_l2_and_adamw_match_torch_optim(n, lr, wd, decoupled, steps, seed):
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(-3, 3, n).astype(np.float32)
    target = rng.uniform(-1, 1, n).astype(np.float32)
    scale = rng.choice([0.01, 1, 100], n).astype(np.float32)
    ours = ideas.adam_run(w0, target, scale, lr, wd, decoupled, steps)
    p = torch.tensor(w0, requires_grad=True)
    opt_class = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = opt_class([p], lr=lr, weight_decay=wd, foreach=False)
    # float32 both sides; torch's kernels round a few operations differently (an ulp), and a
    # steep weight (scale 100) turns an ulp of w into 100 ulps of the next gradient: hence 1e-4
    tol = dict(rtol=1e-4, atol=1e-5)
    for step in ours:
        opt.zero_grad()
        loss = (torch.tensor(scale) * (p - torch.tensor(target)) ** 2).sum() / 2
        loss.backward()
        np.testing.assert_allclose(step.grad, p.grad.numpy(), **tol)
        opt.step()
        state = opt.state[p]
        np.testing.assert_allclose(step.m, state["exp_avg"].numpy(), **tol)
        np.testing.assert_allclose(step.v, state["exp_avg_sq"].numpy(), **tol)
        np.testing.assert_allclose(step.w_new, p.detach().numpy(), **tol)


def test_adam_l2_and_adamw_differ_in_numbers():
    """The point of the lesson: the same settings, different weights after a step."""
    l2 = ideas.adam_run([2.0], [1.0], [100.0], 0.1, 0.1, False, 1)[0]
    dec = ideas.adam_run([2.0], [1.0], [100.0], 0.1, 0.1, True, 1)[0]
    assert dec.decayed[0] == np.float32(2 * (1 - 0.01))
    assert l2.g[0] == np.float32(100 + 0.1 * 2)
    assert l2.w_new[0] != dec.w_new[0]
    lines = ideas.adam_equations(dec, 0, 0.1, 0.1, True)
    assert lines[1].startswith("w ← w × (1 − lr × wd) = 2 × (1 − 0.1 × 0.1) = 1.98")


@pytest.mark.parametrize("training", [True, False])
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 3),
    h=st.integers(1, 4),
    momentum=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_batch_norm_matches_torch(training, n, c, h, momentum, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, h + 1)).astype(np.float32) * 3
    rm = rng.standard_normal(c).astype(np.float32)
    rv = rng.uniform(0.5, 2, c).astype(np.float32)
    g, b = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    try:
        want = F.batch_norm(
            torch.tensor(x), trm, trv, torch.tensor(g), torch.tensor(b), training, momentum, 1e-5
        )
    except ValueError:  # one value per channel in training: torch refuses, so do we
        with pytest.raises(ideas.SettingError):
            ideas.batch_norm(x, rm, rv, g, b, training, momentum)
        return
    got = ideas.batch_norm(x, rm, rv, g, b, training, momentum)
    np.testing.assert_allclose(got.y, want.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.running_mean, trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.running_var, trv.numpy(), rtol=1e-5, atol=1e-6)


@given(c=st.integers(1, 4), size=st.integers(3, 12), o=st.integers(1, 6), k=st.integers(1, 3))
def test_param_count_is_the_modules_count(c, size, o, k):
    p = ideas.param_count((c, size, size), o, k)
    conv = torch.nn.Conv2d(c, o, k)
    assert p.conv == sum(t.numel() for t in conv.parameters())
    out = conv(torch.zeros(1, c, size, size))
    assert p.out_shape == tuple(out.shape[1:])
    n_in, n_out = c * size * size, out.numel()
    assert p.dense == n_in * n_out + n_out  # nn.Linear(n_in, n_out) without building it


@given(h=st.integers(3, 7), w=st.integers(3, 7), k=st.integers(1, 3), seed=st.integers(0, 999))
def test_true_convolution_is_scipys_convolve2d(h, w, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (h, w)).astype(np.float32)
    kern = rng.integers(-3, 4, (k, k)).astype(np.float32)
    got = ideas.true_convolution(x[None], kern[None, None])[0]
    np.testing.assert_array_equal(got, convolve2d(x, kern, mode="valid"))
    assert ideas.flip_matters(kern) == (not np.array_equal(kern, kern[::-1, ::-1]))


@given(down=st.integers(-3, 3), right=st.integers(-3, 3), seed=st.integers(0, 999))
def test_shifting_the_input_shifts_the_map(down, right, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros((1, 9, 9), np.float32)
    x[0, 3:6, 3:6] = rng.integers(1, 5, (3, 3))  # a blob away from the border
    d = ideas.shift_demo(x, rng.integers(-2, 3, (1, 2, 2)), down, right)
    inner = d.same[3:4, 3:4]  # windows far from the border always agree
    assert inner.all()
    if max(abs(down), abs(right)) <= 2:  # the blob stays inside: everything agrees
        assert d.agree == d.same.size


def test_pointwise_mixes_channels_per_pixel():
    x = np.arange(27, dtype=np.float32).reshape(3, 3, 3)
    w = np.float32([[1, 1, 1], [0.5, 0, -1]])
    got = ideas.pointwise(x, w)
    want = F.conv2d(torch.tensor(x)[None], torch.tensor(w)[:, :, None, None])[0].numpy()
    np.testing.assert_array_equal(got, want)
