"""Lessons in a real browser: a lesson link with hide= opens with those controls out of sight and
says what the lesson fixed (and keeps it fixed while the student changes the rest); Home's gallery
opens a lesson; a quiz card is answered right and wrong with the reveal and the session count."""

from __future__ import annotations

import re

from playwright.sync_api import expect

import cnnviz
from cnnviz import quiz
from cnnviz.lesson_links import BY_SLUG


def info(page):
    return page.get_by_test_id("stAlertContentInfo")


def test_a_lesson_link_hides_its_controls_and_says_what_is_fixed(server, page, wait_idle):
    lesson = BY_SLUG["stride"]
    page.goto(server + lesson.url)
    errors = wait_idle(page)
    expect(info(page).filter(has_text="Fixed by this lesson")).to_contain_text(
        "Fixed by this lesson: stride 2, padding 1."
    )
    assert not page.locator(".st-key-s").count() and not page.locator(".st-key-p").count()
    thumb = page.locator(".st-key-d input[type='range']")
    expect(thumb).to_have_value("1", timeout=20_000)  # the rest stays
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("256 × 256 × 1 → conv → 128 × 128 × 1")
    # the student changes what is left: the fixed stride and padding hold across the rerun
    thumb.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"[?&]d=2\b"))
    wait_idle(page)
    want = cnnviz.output_size(256, 3, 2, 1, 2).size[0]  # 127: stride 2 and padding 1 still
    expect(main).to_contain_text(f"256 × 256 × 1 → conv → {want} × {want} × 1")
    assert re.search(r"[?&]s=2\b", page.url) and "hide=s" in page.url.replace("%2C", ",")
    assert not page.get_by_test_id("stException").count()
    assert not errors


def test_home_gallery_opens_a_lesson_in_its_state(server, page, wait_idle):
    page.goto(server + "/")
    wait_idle(page)
    card = page.locator(".st-key-lesson_transposed")
    expect(card.locator("img")).to_have_attribute(
        "alt", re.compile("Transposed conv undoes the shape"), timeout=20_000
    )
    expect(card).to_contain_text("Transposed conv undoes the shape")
    # Copy link: the whole address, to paste into a worksheet
    card.get_by_role("button", name="Copy link").click()
    expect(page.get_by_test_id("stCode")).to_contain_text(
        server + BY_SLUG["transposed"].url, timeout=20_000
    )
    page.keyboard.press("Escape")
    card.get_by_role("link", name="Output size").click()
    expect(page).to_have_url(re.compile(r"/output_size\?"))
    wait_idle(page)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Output: 28 × 28")
    expect(info(page).filter(has_text="Fixed by this lesson")).to_contain_text("stride 2")
    assert not page.locator(".st-key-k").count()


def _option(page, text: str):
    """The open question's option `text` (an answered question's options stay on screen,
    disabled, until the next run has drawn the next question)."""
    return page.get_by_test_id("stRadio").locator(
        "label:not([data-disabled='true'])", has_text=text
    )


def _answer(page, wait_idle, option: str) -> None:
    _option(page, option).click()
    wait_idle(page)
    page.locator("[class*='st-key-quiz_check_'] button").click()
    wait_idle(page)


def test_answer_a_quiz_and_see_the_reveal_and_the_count(server, page, wait_idle):
    page.goto(server + "/output_size?quiz=1&s=2&p=1")
    errors = wait_idle(page)
    out = cnnviz.output_size(28, 3, 2, 1)
    q = quiz.size_question(out, 0)
    card = page.locator(".st-key-quiz_card_size")
    expect(card).to_contain_text(q.prompt)
    expect(page.get_by_test_id("quiz-score")).to_have_text("0 of 0")
    expect(page.get_by_test_id("stMain")).not_to_contain_text(out.dims[0].formula)  # held back
    _answer(page, wait_idle, q.options[q.answer])
    expect(card.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        f"Right: {q.options[q.answer]}"
    )
    expect(page.get_by_test_id("quiz-score")).to_have_text("1 of 1")
    expect(page.get_by_test_id("stMain")).to_contain_text(out.dims[0].formula)  # revealed
    page.locator(".st-key-quiz_next_size button").click()
    q2 = quiz.size_question(out, 1)
    wrong = next(o for i, o in enumerate(q2.options) if i != q2.answer)
    expect(_option(page, wrong)).to_be_visible()
    wait_idle(page)
    _answer(page, wait_idle, wrong)
    expect(card.get_by_test_id("stAlertContentError")).to_contain_text(
        f"The answer is {q2.options[q2.answer]}"
    )
    expect(page.get_by_test_id("quiz-score")).to_have_text("1 of 2")
    assert not errors


def test_a_quiz_card_works_from_the_keyboard(server, page, wait_idle):
    page.goto(server + "/pooling?quiz=1")
    wait_idle(page)
    card = page.locator(".st-key-quiz_card_pool")
    first = card.get_by_role("radio").first
    first.focus()
    page.keyboard.press("Space")  # choose the focused option
    wait_idle(page)
    expect(card.get_by_role("radio").first).to_be_checked()
    button = page.locator("[class*='st-key-quiz_check_'] button")
    button.focus()
    page.keyboard.press("Enter")
    expect(
        card.locator("[data-testid='stAlertContentSuccess'], [data-testid='stAlertContentError']")
    ).to_have_count(1)
    expect(page.get_by_test_id("quiz-score")).to_contain_text("of 1")
