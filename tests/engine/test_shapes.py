"""output_size against the shapes torch really produces, and its refusals against torch's."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
import cnnviz.size_words
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
    dims,
    dims,
    st.integers(1, 6),
    st.integers(1, 4),
    st.one_of(st.integers(0, 4), st.just("same"), st.just("valid")),
    st.integers(1, 3),
    st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
)
def test_conv_output_size_matches_torch(h, w, k, s, p, d, mode):
    layer = lambda: torch.nn.Conv2d(1, 1, k, s, p, d, padding_mode=mode)  # noqa: E731
    same(
        our_shape(lambda: cnnviz.output_size((h, w), k, s, p, d, padding_mode=mode)),
        torch_shape(lambda: layer()(torch.zeros(1, 1, h, w))),
    )


@given(
    dims,
    dims,
    st.integers(1, 6),
    st.one_of(st.none(), st.integers(1, 4)),
    st.integers(0, 3),
    st.integers(1, 3),
    st.booleans(),
)
def test_pool_output_size_matches_torch(h, w, k, s, p, d, ceil):
    same(
        our_shape(lambda: cnnviz.output_size((h, w), k, s, p, d, op="pool", ceil_mode=ceil)),
        torch_shape(lambda: F.max_pool2d(torch.zeros(1, 1, h, w), k, s, p, d, ceil_mode=ceil)),
    )


@given(
    dims,
    dims,
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(0, 4),
    st.integers(1, 3),
    st.integers(0, 3),
)
def test_transposed_output_size_matches_torch(h, w, k, s, p, d, op):
    def theirs():
        return F.conv_transpose2d(
            torch.zeros(1, 1, h, w), torch.zeros(1, 1, k, k), None, s, p, op, 1, d
        )

    same(
        our_shape(
            lambda: cnnviz.output_size((h, w), k, s, p, d, op="conv_transpose", output_padding=op)
        ),
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


@pytest.mark.parametrize(
    "bad",
    [
        dict(kernel_size=0),
        dict(stride=-1),
        dict(kernel_size=2.5),
        dict(padding="fully"),
        dict(op="deconv"),
    ],
)
def test_bad_values_are_setting_errors(bad):
    args = dict(input_size=10, kernel_size=3) | bad
    with pytest.raises(SettingError):
        cnnviz.output_size(**args)


@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=4
    )
)
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


@given(
    dims,
    dims,
    st.integers(1, 9),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(1, 3),
    st.sampled_from(["conv", "pool", "conv_transpose"]),
    st.integers(0, 3),
    st.sampled_from(["zeros", "reflect", "circular"]),
)
def test_every_fix_offered_removes_the_problem_it_was_offered_for(h, w, k, s, p, d, op, opad, mode):
    args = dict(
        input_size=(h, w),
        kernel_size=k,
        stride=s,
        padding=p,
        dilation=d,
        op=op,
        output_padding=opad,
        padding_mode=mode,
    )
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


def _torch_pool_1d(n, k, s, p, d, ceil):
    """torch's pooled length along one dimension, or None when torch refuses."""
    try:
        return F.max_pool2d(
            torch.zeros(1, 1, n, 1), (k, 1), (s, 1), (p, 0), (d, 1), ceil_mode=ceil
        ).shape[-2]
    except RuntimeError:
        return None


@given(
    st.integers(1, 14), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2), st.integers(1, 2)
)
def test_ceil_mode_sentence_says_what_torch_does(n, k, s, p, d):
    """Kept partial window, dropped window or no change: the sentence says the one torch does,
    and for a kept window the cells it covers are torch's avg_pool2d divisor."""
    p = min(p, k // 2)
    floor, ceil = _torch_pool_1d(n, k, s, p, d, False), _torch_pool_1d(n, k, s, p, d, True)
    if ceil is None or ceil < 1:
        return
    dim = cnnviz.output_size(
        (n, 1), (k, 1), (s, 1), (p, 0), (d, 1), op="pool", ceil_mode=True
    ).dims[0]
    text = dim.explanation
    assert dim.size == ceil
    remainder = (n + 2 * p - d * (k - 1) - 1) % s
    if ceil == (floor or 0) + 1:
        assert "keeps a last, partial window" in text and "drops" not in text
        covered = cnnviz.size_words.last_window_cells(dim)
        if d == 1:  # torch's divisor for the last window: the covered input over the average
            ones = torch.ones(1, 1, n, 1)
            total = F.avg_pool2d(ones, (k, 1), (s, 1), (p, 0), ceil_mode=True, divisor_override=1)
            mean = F.avg_pool2d(ones, (k, 1), (s, 1), (p, 0), ceil_mode=True)
            assert covered == round(float(total[0, 0, -1, 0] / mean[0, 0, -1, 0]))
            assert f"divides by the cells it covers, {covered} (not {k})" in text
        assert covered < d * (k - 1) + 1
    elif remainder:
        assert "drops a last window" in text and "partial window" not in text
    else:
        assert "ceil_mode changes nothing here" in text
    if p == 0:  # no padding: not a word about it
        assert "padding" not in text and "padded" not in text


def test_ceil_mode_examples_from_the_audit():
    # 5 wide, window 2, stride 2, no padding: torch keeps a 3rd window over the last row alone
    d = cnnviz.output_size(5, 2, 2, 0, op="pool", ceil_mode=True).dims[0]
    assert d.size == F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 2, ceil_mode=True).shape[-1] == 3
    assert "starts at input row 4" in d.explanation and "1 (not 2)" in d.explanation
    assert "padded row" not in d.explanation and "only padding" not in d.explanation
    # padding 1: the window ceil would add starts in the right padding, and torch drops it
    d = cnnviz.output_size(5, 2, 2, 1, op="pool", ceil_mode=True).dims[0]
    assert d.size == 3 and "partial window is kept" not in d.explanation
    assert "starting at input row 5" in d.explanation and "in the right padding" in d.explanation


def test_avg_pool_divisor_sentence_uses_torchs_divisors():
    """5×5, window 2, stride 2, ceil_mode: the last row and column of windows cover 1 cell."""
    size = cnnviz.output_size(5, 2, 2, 0, op="pool", ceil_mode=True)
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    total = F.avg_pool2d(x, 2, 2, ceil_mode=True, divisor_override=1)[0, 0]
    mean = F.avg_pool2d(x, 2, 2, ceil_mode=True)[0, 0]
    corner = round(float(total[-1, -1] / mean[-1, -1]))
    edge = round(float(total[0, -1] / mean[0, -1]))  # 4 + 9 = 13, over 2
    assert (corner, edge) == (1, 2) and float(mean[0, -1]) == 13 / 2
    text = cnnviz.size_words.avg_pool_divisor_text(size)
    assert "2 × 2 = 4" in text and f"1 × 1 = {corner}, not 4" in text
    full = cnnviz.size_words.avg_pool_divisor_text(cnnviz.output_size(4, 2, 2, 1, op="pool"))
    assert "not" not in full and "padding cells included" in full


@given(
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 2),
    st.integers(0, 3),
)
def test_output_padding_sentence_matches_what_torch_puts_there(n, k, s, p, d, op):
    """output_padding's extra cells are canvas cells (what the stamps put there) while
    output_padding <= padding; only past the canvas are they empty. Canvas: torch with no
    padding; random input and kernel, bias 0."""
    if op >= max(s, d):
        return
    g = torch.Generator().manual_seed(n * 1000 + k * 100 + s * 10 + p)
    x, w = torch.rand(1, 1, n, 1, generator=g) + 1, torch.rand(1, 1, k, 1, generator=g) + 1
    canvas = F.conv_transpose2d(x, w, None, (s, 1), 0, 0, 1, (d, 1))[0, 0, :, 0]
    try:
        out = F.conv_transpose2d(x, w, None, (s, 1), (p, 0), (op, 0), 1, (d, 1))[0, 0, :, 0]
    except RuntimeError:
        return
    if len(out) < 1:
        return
    text = (
        cnnviz.output_size(
            (n, 1), (k, 1), (s, 1), (p, 0), (d, 1), op="conv_transpose", output_padding=(op, 0)
        )
        .dims[0]
        .explanation
    )
    length = len(canvas)
    on_canvas = [i for i in range(len(out)) if i + p < length]
    assert all(out[i] == canvas[i + p] for i in on_canvas)
    past = [i for i in range(len(out)) if i + p >= length]
    assert all(out[i] == 0 for i in past)  # no stamp, no bias: nothing
    kept = [i for i in on_canvas if i + p >= length - p]  # what a crop of p at the end removes
    assert len(kept) + len(past) <= op  # output_padding's cells, at most
    if past:
        assert f"adds {len(past)} empty row" in text
    else:
        assert "empty" not in text
    if kept:
        assert f"keeps {len(kept)} row" in text and "would have cropped" in text


def test_output_padding_example_from_the_audit():
    """s2 k3 p1 op1, all ones: the added last row is [1, 2, 1, 1], stamped, not empty."""
    out = F.conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 3, 3), None, 2, 1, 1)
    assert out[0, 0, -1].tolist() == [1, 2, 1, 1]
    text = cnnviz.output_size(2, 3, 2, 1, op="conv_transpose", output_padding=1).dims[0]
    assert "keeps 1 row at the bottom that padding would have cropped" in text.explanation
    assert "empty" not in text.explanation and "adds 1 at the end" not in text.explanation


def test_same_padding_with_stride_names_pytorch_and_keras_rules():
    with pytest.raises(SettingError) as err:
        cnnviz.output_size(10, 3, 2, "same")
    msg = str(err.value)
    assert "PyTorch accepts padding='same' only with stride 1" in msg
    assert "Keras and TensorFlow" in msg and "⌈input / s⌉" in msg
    # the old claim "smaller than the input whatever the padding" was false: torch says so
    assert (
        F.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 1, 1), stride=2, padding=2).shape[-1]
        == 4
    )
    assert "whatever the padding" not in msg


@given(st.integers(1, 8), st.integers(2, 5), st.integers(0, 2), st.integers(1, 4))
def test_a_pool_too_big_only_suggests_padding_torch_accepts(n, k, p, d):
    """The refusal's 'padding ≥ x' must itself be allowed (x ≤ window // 2) and must work."""
    p = min(p, k // 2)
    try:
        cnnviz.output_size(n, k, 1, p, d, op="pool")
        return
    except SettingError as err:
        msg = str(err)
    if "padding ≥ " in msg:
        x = int(msg.split("padding ≥ ")[1].split(".")[0])
        assert x <= k // 2
        t = F.max_pool2d(torch.zeros(1, 1, n, n), k, 1, x, d)  # torch accepts it
        assert cnnviz.output_size(n, k, 1, x, d, op="pool").size == tuple(t.shape[-2:])
