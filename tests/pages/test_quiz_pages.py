"""Question cards on the pages (AppTest): a link with quiz=1 opens the card, a wrong answer is
told wrong with the right one revealed, a right one is told right, and the session's count goes
up by one per answer. The revealed answer is the engine's value for the page's settings."""

from __future__ import annotations

import pytest
from test_page_pooling import grids  # same folder (tests/ is not a package)

import cnnviz
from cnnviz import playground, quiz, walks
from cnnviz.kernels import parse_kernel


def card_text(at) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [s.value for s in at.success]
        + [e.value for e in at.error]
        + [c.value for c in at.caption]
    )


def answer(at, option: str):
    radio = at.radio[0]
    assert option in radio.options, (option, radio.options)
    radio.set_value(option).run(timeout=30)
    next(b for b in at.button if b.key.startswith("quiz_check_")).click().run(timeout=30)
    assert not at.exception, [e.message for e in at.exception]
    return at


def another(at):
    next(b for b in at.button if b.key.startswith("quiz_next_")).click().run(timeout=30)
    return at


def expected(page: str, seed: int) -> quiz.Question:
    """The page's question, made independently from the page's default settings."""
    if page == "output_size":
        return quiz.size_question(cnnviz.output_size(28, 3), seed)
    if page == "pooling":
        return quiz.pool_question(
            parse_kernel("1 3 2 1; 4 6 5 0; 3 1 1 2; 0 2 4 3"), 2, 2, 0, False, seed
        )
    if page == "convolution":
        image = cnnviz.sample_image("astronaut", "rgb", 256).array
        gray = playground.as_input(image, "gray")[0]
        return quiz.kernel_question(gray, seed, (1, 1), (0, 0), (1, 1), "zeros")
    x = parse_kernel("1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0")[None]
    w = parse_kernel("1 0 1; 0 1 0; 1 0 1")[None]
    # the step after step 1 (index 1), then the ones after it: 9 steps, 8 still to come
    return quiz.step_question(walks.conv_walk(x, w), 1 + seed % 8, seed)


@pytest.mark.parametrize("page", ["output_size", "convolution", "pooling", "step_by_step"])
def test_quiz_card_wrong_then_right_counts_both(open_page, page):
    at = open_page(f"pages/{page}.py", quiz="1")
    assert "Predict, then reveal" in card_text(at)
    assert "Right answers this session: <b data-testid='quiz-score'>0 of 0</b>" in card_text(at)
    q = expected(page, 0)
    assert q.prompt in card_text(at)
    assert tuple(at.radio[0].options) == q.options
    wrong = next(o for i, o in enumerate(q.options) if i != q.answer)
    answer(at, wrong)
    assert [e.value for e in at.error] == [q.feedback(q.options.index(wrong))]
    assert f"The answer is {q.options[q.answer]}" in at.error[0].value
    assert "0 of 1</b>" in card_text(at)
    another(at)
    q2 = expected(page, 1)
    assert tuple(at.radio[0].options) == q2.options
    answer(at, q2.options[q2.answer])
    assert q2.feedback(q2.answer) in [s.value for s in at.success]
    assert "1 of 2</b>" in card_text(at)


def test_output_size_holds_the_formula_back_until_the_answer(open_page):
    at = open_page("pages/output_size.py", quiz="1", s="2", p="1")
    formula = cnnviz.output_size(28, 3, 2, 1).dims[0].formula
    assert formula not in "\n".join(m.value for m in at.markdown)
    q = quiz.size_question(cnnviz.output_size(28, 3, 2, 1), 0)
    answer(at, q.options[q.answer])
    assert formula in "\n".join(m.value for m in at.markdown)
    assert "### Output: 14 × 14" in [s.value for s in at.success]


def test_pooling_rings_the_winner_only_after_the_answer(open_page):
    at = open_page("pages/pooling.py", quiz="1")
    assert not grids(at)
    q = expected("pooling", 0)
    answer(at, q.options[q.answer])
    assert len(grids(at)) == 4


def test_one_answer_per_question(open_page):
    at = open_page("pages/output_size.py", quiz="1")
    q = expected("output_size", 0)
    answer(at, q.options[q.answer])
    assert at.radio[0].disabled
    assert not [b for b in at.button if b.key.startswith("quiz_check_")]
    at.run(timeout=30)
    assert "1 of 1</b>" in card_text(at)


def test_quiz_off_by_default_and_the_toggle_turns_it_on(open_page):
    at = open_page("pages/output_size.py")
    assert "Predict, then reveal" not in card_text(at)
    at.toggle(key="quiz_toggle").set_value(True).run(timeout=30)
    assert "Predict, then reveal" in card_text(at) and at.query_params.get("quiz") in ("1", ["1"])
