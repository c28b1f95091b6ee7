"""Quiz engine: every question's revealed answer is the engine's own value (torch agrees with the
engine elsewhere in the suite), options are distinct, the right one is among them, and the same
settings and seed give the same question."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

import cnnviz
from cnnviz import quiz, walks
from cnnviz.numbers import fmt
from cnnviz.shapes import SettingError


def well_formed(q: quiz.Question) -> None:
    assert 2 <= len(q.options) <= quiz.N_OPTIONS
    assert len(set(q.options)) == len(q.options)
    assert 0 <= q.answer < len(q.options) and len(q.slips) == len(q.options)
    assert q.is_right(q.answer) and not any(
        q.is_right(i) for i in range(len(q.options)) if i != q.answer
    )
    assert q.feedback(q.answer).startswith("Right")
    for i in range(len(q.options)):
        if i != q.answer:
            assert q.options[q.answer] in q.feedback(i)


@given(
    n=st.integers(1, 64),
    k=st.integers(1, 9),
    s=st.integers(1, 5),
    p=st.integers(0, 4),
    d=st.integers(1, 3),
    op=st.sampled_from(["conv", "pool", "conv_transpose"]),
    ceil=st.booleans(),
    seed=st.integers(0, 10),
)
def test_size_answer_is_the_engines_and_torchs(n, k, s, p, d, op, ceil, seed):
    try:
        out = cnnviz.output_size(n, k, s, p, d, op=op, ceil_mode=ceil and op == "pool")
    except SettingError:
        assume(False)
    q = quiz.size_question(out, seed)
    well_formed(q)
    h, w = out.size
    assert q.options[q.answer] == f"{h} × {w}" and q.value == (h, w)
    x = torch.zeros(1, 1, n, n)
    if op == "conv":
        y = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    elif op == "pool":
        y = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
    else:
        y = F.conv_transpose2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    assert tuple(y.shape[-2:]) == (h, w)
    assert quiz.size_question(out, seed).options == q.options  # same seed, same card


def test_size_slips_name_the_mistake():
    q = quiz.size_question(cnnviz.output_size(28, 3, 2, 1), seed=0)
    slips = dict(zip(q.options, q.slips))
    assert q.options[q.answer] == "14 × 14"
    assert "forgets the padding" in slips["13 × 13"]


@given(seed=st.integers(0, 50), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2))
def test_kernel_question_map_is_the_answers_convolution(seed, s, p, d):
    img = np.array(cnnviz.sample_image("astronaut", "gray", 32).array)
    q = quiz.kernel_question(img, seed, s, p, d)
    well_formed(q)
    want = F.conv2d(
        torch.from_numpy(img)[None, None],
        torch.from_numpy(cnnviz.preset(q.value))[None, None],
        stride=s,
        padding=p,
        dilation=d,
    )[0, 0].numpy()
    np.testing.assert_allclose(q.picture, want, atol=1e-5)
    assert q.options[q.answer] == q.value.replace("_", " ")


def test_kernel_question_on_impossible_settings_is_none():
    assert quiz.kernel_question(np.zeros((2, 2), np.float32), 0) is None


@given(
    grid=st.lists(st.integers(0, 9), min_size=36, max_size=36),
    k=st.integers(2, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 1),
    seed=st.integers(0, 20),
)
def test_pool_winner_is_torchs_argmax(grid, k, s, p, seed):
    g = np.array(grid, np.float32).reshape(6, 6)
    q = quiz.pool_question(g, k, s, p, seed=seed)
    if q is None:
        return
    well_formed(q)
    out, idx = F.max_pool2d(torch.from_numpy(g)[None, None], k, s, p, return_indices=True)
    r, c = q.value
    i, j = (int(v) for v in q.prompt.split("output cell (row ")[1].rstrip(")?").split(", column "))
    assert g[r, c] == out[0, 0, i, j].item()
    assert q.options[q.answer] == f"row {r}, column {c}"
    # every wrong option is a cell of the window with a smaller number
    for opt in q.options:
        rr, cc = (int(v) for v in opt[4:].split(", column "))
        assert g[rr, cc] <= g[r, c]


def test_pool_question_needs_a_window_with_two_numbers():
    assert quiz.pool_question(np.ones((4, 4), np.float32), 2, 2) is None


@given(
    x=st.lists(st.integers(-3, 5), min_size=16, max_size=16),
    w=st.lists(st.integers(-2, 2), min_size=4, max_size=4),
    b=st.integers(-3, 3),
    k=st.integers(0, 8),
    seed=st.integers(0, 5),
)
def test_step_answer_is_the_walks_and_torchs_value(x, w, b, k, seed):
    xi = np.array(x, np.float32).reshape(1, 4, 4)
    wi = np.array(w, np.float32).reshape(1, 2, 2)
    walk = walks.conv_walk(xi, wi, bias=float(b))
    q = quiz.step_question(walk, k % walk.n_steps, seed)
    well_formed(q)
    y = (
        F.conv2d(torch.from_numpy(xi)[None], torch.from_numpy(wi)[None], torch.tensor([float(b)]))[
            0, 0
        ]
        .numpy()
        .ravel()
    )
    assert q.value == y[k % walk.n_steps]
    assert q.options[q.answer] == fmt(y[k % walk.n_steps])


def test_step_questions_for_pooling():
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], np.float32)[None]
    for mode, fn in (("max_pool", F.max_pool2d), ("avg_pool", F.avg_pool2d)):
        walk = walks.make_walk(mode, x, None, None, kernel_size=2, stride=2, padding=0)
        want = fn(torch.from_numpy(x)[None], 2, 2)[0, 0].numpy().ravel()
        for k in range(walk.n_steps):
            q = quiz.step_question(walk, k, seed=k)
            well_formed(q)
            assert q.value == want[k]
