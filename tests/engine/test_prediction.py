"""cnnviz.prediction: softmax step by step equals torch.softmax, sums to 1 even for huge logits;
logits equal the model's own output in eval mode."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz import arch
from cnnviz.prediction import logits, softmax_steps

scores = st.lists(
    st.one_of(
        st.floats(-50, 50, width=32),
        st.sampled_from([1000.0, -1000.0, 0.0, 88.8, -103.0]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(scores)
def test_softmax_steps_equal_torch_and_sum_to_one(values):
    a = np.array(values, dtype=np.float32)
    s = softmax_steps(a)
    expected = torch.softmax(torch.as_tensor(a), 0).numpy()
    np.testing.assert_allclose(s.probs, expected, rtol=1e-5, atol=1e-7)
    assert abs(s.probs.sum() - 1) < 1e-12
    assert s.shift == a.max()
    assert s.exps.max() == 1.0 and (s.exps > 0).all() or (s.exps >= 0).all()
    np.testing.assert_allclose(s.exps, np.exp(a.astype(np.float64) - s.shift))
    assert s.total == pytest.approx(s.exps.sum(), rel=1e-15) and s.total >= 1
    np.testing.assert_array_equal(s.probs, s.exps / s.total)
    top = s.top(len(a))
    assert [i for i, _ in top] == sorted(range(len(a)), key=lambda i: (-s.probs[i], i))
    assert all(p1 >= p2 for (_, p1), (_, p2) in zip(top, top[1:]))
    assert s.top(2) == top[:2] and s.top(0) == []


def test_huge_logits_and_ties():
    s = softmax_steps([1000.0, -1000.0, 1000.0])
    assert s.probs.tolist() == [0.5, 0.0, 0.5] and s.total == 2.0
    assert s.top(3) == [(0, 0.5), (2, 0.5), (1, 0.0)]


@pytest.mark.parametrize(
    "bad, words",
    [
        ([], "non-empty"),
        ([[1.0, 2.0]], "flat"),
        ([1.0, float("nan")], "class 1 is nan"),
        ([float("inf")], "class 0 is inf"),
        (["a", "b"], "numbers"),
    ],
)
def test_bad_logits_are_sentences(bad, words):
    with pytest.raises(ValueError, match=words):
        softmax_steps(bad)


def test_logits_equal_the_model_in_eval_mode():
    torch.manual_seed(2)
    model = arch.build("conv3k3-bn-relu-drop-flat-fc", (2, 6, 6), 4).train()
    x = np.random.default_rng(0).random((2, 6, 6), dtype=np.float32)
    got = logits(model, x)
    with torch.no_grad():
        expected = model.eval()(torch.as_tensor(x)[None])[0].numpy()
    model.train()
    assert got.dtype == np.float32 and got.shape == (4,)
    np.testing.assert_array_equal(got, expected)
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="does not run on a 1 × 6 × 6 input"):
        logits(model, np.zeros((1, 6, 6)))
