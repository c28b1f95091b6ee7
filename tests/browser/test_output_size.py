"""Output size in a real browser: type settings, read the formula, open a shared link."""

import re

from playwright.sync_api import expect

import cnnviz


def set_number(page, key: str, value: int, wait_idle) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def formula(page):
    return page.locator("[data-testid='stMarkdownContainer'] code").first


def success(page):
    return page.locator("[data-testid='stAlertContentSuccess']")


def test_user_sets_stride_and_padding_and_reads_the_formula(server, page, wait_idle):
    page.goto(server + "/output_size")
    wait_idle(page)
    set_number(page, "in", 224, wait_idle)
    set_number(page, "s", 2, wait_idle)
    set_number(page, "p", 1, wait_idle)
    want = cnnviz.output_size(224, 3, 2, 1)
    expect(formula(page)).to_have_text(want.dims[0].formula)
    expect(success(page)).to_contain_text(f"Output: {want.size[0]} × {want.size[1]}")
    # the URL now carries the lesson state
    assert re.search(r"[?&]s=2\b", page.url) and re.search(r"[?&]p=1\b", page.url)
    assert not page.locator("[data-testid='stException']").count()
    assert not page.locator("[role='dialog']").count()  # e.g. Streamlit's "Page not found"


def test_impossible_settings_turn_red_and_the_page_stays(server, page, wait_idle):
    page.goto(server + "/output_size?in=4&k=9")
    errors = wait_idle(page)
    alert = page.locator("[data-testid='stAlertContentError']")
    expect(alert).to_contain_text("kernel 9 is larger than the padded input 4")
    expect(alert).to_contain_text("padding ≥ 3")
    page.get_by_role("button", name="Set padding 3").click()  # take the advice
    expect(page.locator(".st-key-p input")).to_have_value("3")
    expect(formula(page)).to_have_text(cnnviz.output_size(4, 9, 1, 3).dims[0].formula)
    assert not errors


def test_a_shared_link_reopens_the_same_settings(server, page, wait_idle):
    page.goto(server + "/output_size?op=Pooling&in=7&k=2&s=2&ceil=true")
    wait_idle(page)
    expect(page.locator(".st-key-k input")).to_have_value("2")
    want = cnnviz.output_size(7, 2, 2, 0, op="pool", ceil_mode=True)
    expect(formula(page)).to_have_text(want.dims[0].formula)
    expect(success(page)).to_contain_text("Output: 4 × 4")
