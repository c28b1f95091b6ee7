"""output_size against the shapes torch really produces, and its refusals against torch's."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
from cnnviz.shapes import SettingError

torch.set_num_threads(1)


def torch_shape(fn):
    """torch's output (H, W), or its refusal; an empty output (torch allows 0 for transposed
    convs) counts as a refusal: cnnviz says an output below 1 cannot work."""
    try:
        shape = tuple(fn().shape[-2:])
        return (shape, None) if min(shape) >= 1 else (None, "empty output")
    except (RuntimeError, ValueError) as e:
        return None, e


def our_shape(fn):
    try:
        out = fn()
    except SettingError as e:
        assert str(e).endswith(".") and e.suggestions is not None
        return None, e
    for d in out.dims:  # the formula ends in the size it claims
        assert d.formula.split("=")[-1].split("→")[-1].strip().split(" ")[0] == str(d.size)
    return out.size, None


def same(ours, theirs):
    assert ours[0] == theirs[0], f"cnnviz {ours}, torch {theirs}"


dims = st.integers(1, 12)


@given(
    dims, dims, st.integers(1, 6), st.integers(1, 4), st.one_of(st.integers(0, 4), st.just("same"),
    st.just("valid")), st.integers(1, 3),
    st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
)  # fmt: skip
def test_conv_output_size_matches_torch(h, w, k, s, p, d, mode):
    layer = lambda: torch.nn.Conv2d(1, 1, k, s, p, d, padding_mode=mode)  # noqa: E731
    same(
        our_shape(lambda: cnnviz.output_size((h, w), k, s, p, d, padding_mode=mode)),
        torch_shape(lambda: layer()(torch.zeros(1, 1, h, w))),
    )


@given(dims, dims, st.integers(1, 6), st.one_of(st.none(), st.integers(1, 4)), st.integers(0, 3),
       st.integers(1, 3), st.booleans())  # fmt: skip
def test_pool_output_size_matches_torch(h, w, k, s, p, d, ceil):
    same(
        our_shape(lambda: cnnviz.output_size((h, w), k, s, p, d, op="pool", ceil_mode=ceil)),
        torch_shape(lambda: F.max_pool2d(torch.zeros(1, 1, h, w), k, s, p, d, ceil_mode=ceil)),
    )


@given(dims, dims, st.integers(1, 5), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3),
       st.integers(0, 3))  # fmt: skip
def test_transposed_output_size_matches_torch(h, w, k, s, p, d, op):
    def theirs():
        return F.conv_transpose2d(torch.zeros(1, 1, h, w), torch.zeros(1, 1, k, k), None, s, p,
                                  op, 1, d)  # fmt: skip

    same(
        our_shape(
            lambda: cnnviz.output_size((h, w), k, s, p, d, op="conv_transpose", output_padding=op)
        ),  # fmt: skip
        torch_shape(theirs),
    )


def test_formula_is_written_with_the_users_numbers():
    d = cnnviz.output_size(28, 3, 2, 1).dims[0]
    assert d.formula == "⌊(28 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊27 / 2⌋ + 1 = 13 + 1 = 14"
    assert d.size == 14 and d.uncovered == 0
    assert "only padding" in d.explanation


def test_uncovered_tail_is_counted_and_said():
    d = cnnviz.output_size(8, 3, 2, 0).dims[1]
    assert (d.axis, d.size, d.uncovered) == ("width", 3, 1)
    assert "the last input column" in d.explanation


def test_impossible_kernel_says_why_and_what_works():
    with pytest.raises(SettingError) as e:
        cnnviz.output_size(3, 7, 1, 1)
    msg = str(e.value)
    assert "kernel 7 is larger than the padded input 5" in msg
    assert "padding ≥ 2" in e.value.suggestions and "kernel ≤ 5" in e.value.suggestions
    # the suggestions really work
    assert cnnviz.output_size(3, 7, 1, 2).size == (1, 1)
    assert cnnviz.output_size(3, 5, 1, 1).size == (1, 1)


def test_same_padding_with_stride_is_refused_with_a_reason():
    with pytest.raises(SettingError, match="stride 1"):
        cnnviz.output_size(10, 3, 2, "same")


def test_pool_padding_over_half_the_window():
    with pytest.raises(SettingError, match="half the window"):
        cnnviz.output_size(10, 3, 1, 2, op="pool")


def test_ceil_mode_drops_a_window_starting_in_padding():
    # torch: 5 wide, kernel 2, stride 2, padding 1, ceil -> 3 (not 4)
    d = cnnviz.output_size(5, 2, 2, 1, op="pool", ceil_mode=True).dims[0]
    assert d.size == F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape[-1]


@pytest.mark.parametrize("bad", [dict(kernel_size=0), dict(stride=-1), dict(kernel_size=2.5),
                                 dict(padding="fully"), dict(op="deconv")])  # fmt: skip
def test_bad_values_are_setting_errors(bad):
    args = dict(input_size=10, kernel_size=3) | bad
    with pytest.raises(SettingError):
        cnnviz.output_size(**args)


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 2)), min_size=1,
                max_size=4))  # fmt: skip
def test_receptive_field_matches_torch_gradient(stack):
    """The input pixels a central output unit depends on (by autograd) span the predicted field."""
    layers = [dict(kernel_size=k, stride=s, dilation=d) for k, s, d in stack]
    rows = cnnviz.receptive_field(layers)
    size = rows[-1].size[0]
    n = size + 40
    x = torch.zeros(1, 1, n, n, requires_grad=True, dtype=torch.float64)
    y = x
    for k, s, d in stack:
        y = F.conv2d(y, torch.ones(1, 1, k, k, dtype=torch.float64), stride=s, dilation=d)
    assert y.shape[-1] >= 1
    y[0, 0, 0, 0].backward()
    touched = np.nonzero(x.grad[0, 0].numpy().any(axis=0))[0]
    assert touched.max() - touched.min() + 1 == size
    assert rows[-1].start[0] == (touched.max() + touched.min()) / 2
    jump = int(np.prod([s for _, s, _ in stack]))
    assert rows[-1].jump == (jump, jump)


@given(dims, st.integers(1, 6), st.integers(1, 3), st.integers(1, 3))
def test_full_padding_is_the_number_torch_would_take(n, k, s, d):
    full = cnnviz.output_size(n, k, s, "full", d)
    assert full.size == cnnviz.output_size(n, k, s, d * (k - 1), d).size
    x, w = np.ones((1, n, n)), np.ones((1, 1, k, k))
    want = F.conv2d(torch.ones(1, 1, n, n), torch.ones(1, 1, k, k), None, s, d * (k - 1), d)
    assert cnnviz.conv2d(x, w, stride=s, padding="full", dilation=d).shape[-2:] == want.shape[-2:]


def test_a_refusal_names_both_dimensions_when_they_share_settings():
    with pytest.raises(SettingError, match=r"^height and width: kernel 9"):
        cnnviz.output_size(4, 9)
    with pytest.raises(SettingError, match=r"^width: kernel 9"):
        cnnviz.output_size((20, 4), 9)


@given(dims, dims, st.integers(1, 9), st.integers(1, 3), st.integers(0, 3), st.integers(1, 3),
       st.sampled_from(["conv", "pool", "conv_transpose"]), st.integers(0, 3),
       st.sampled_from(["zeros", "reflect", "circular"]))  # fmt: skip
def test_every_fix_offered_removes_the_problem_it_was_offered_for(h, w, k, s, p, d, op, opad, mode):
    args = dict(input_size=(h, w), kernel_size=k, stride=s, padding=p, dilation=d, op=op,
                output_padding=opad, padding_mode=mode)  # fmt: skip
    try:
        cnnviz.output_size(**args)
    except SettingError as err:
        assert err.fixes
        for f in err.fixes:
            fixed = dict(args)
            for key, value in f.changes:
                if f.axis:  # only that dimension changes
                    a = 0 if f.axis == "height" else 1
                    old = fixed[key] if isinstance(fixed[key], tuple) else (fixed[key],) * 2
                    fixed[key] = tuple(value if i == a else old[i] for i in (0, 1))
                else:
                    fixed[key] = value
            try:
                cnnviz.output_size(**fixed)
            except SettingError as again:
                assert str(again) != str(err), f"{f.text} did not change anything"
