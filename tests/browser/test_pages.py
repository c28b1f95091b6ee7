"""Every page of the real app, in a real browser, opened from the menu: it renders, shows its
heading, raises nothing, and the sidebar menu is exactly cnnviz.ui.nav.PAGES (no stray entries
from the pages/ folder); the first visitor of a new server can arrive by a deep link.

With CNNVIZ_SCREENSHOTS=1 (`make screenshots`) each page's first screen at 1280x720 is written to
docs/screenshots/ for the README.
"""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

import cnnviz
from cnnviz.ui.nav import PAGES, PageInfo

NAV_LINK = "[data-testid='stSidebarNav'] a[data-testid='stSidebarNavLink']"
NAV_LABEL = "[data-testid='stMarkdownContainer']"  # the link's text, without its icon's ligature
VIEW_MORE = "[data-testid='stSidebarNavViewButton']"


def _id(page: PageInfo) -> str:
    return page.url_path or "default"


def _url(base_url: str, page: PageInfo) -> str:
    return f"{base_url}/{page.url_path}"


def _nav_titles(page) -> list[str]:
    if page.locator(VIEW_MORE).count():  # long menus are collapsed behind "View more"
        button = page.locator(VIEW_MORE)
        if "more" in button.inner_text().lower():
            button.click()
    return [t.strip() for t in page.locator(f"{NAV_LINK} {NAV_LABEL}").all_inner_texts()]


def _nav_link(page, title: str):
    label = page.locator(NAV_LABEL, has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    return page.locator(NAV_LINK).filter(has=label)


def _h1s(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid='stMain'] h1").all_inner_texts()]


def test_every_page_renders_from_the_menu(
    server: str, page, page_log, wait_idle, settle, cut_text, readme_shot
) -> None:
    """Home at 1280x720 (a laptop or a projector), then every page of the menu clicked in turn,
    as a student does, and back Home. Each page owes its user its heading, no exception, the
    exact menu, no console error, nothing cut, and no request that leaves the machine. (One tab
    for all: a page opened from the menu costs the browser a third of a fresh load.)"""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(server + "/")
    wait_idle(page)
    default_h1 = _h1s(page)
    assert default_h1, "the default page has no h1"
    problems: list[str] = []
    for n, info in enumerate([PAGES[0], *PAGES[1:], PAGES[0]]):
        if n:  # the first is the page just opened by its address
            link = _nav_link(page, info.title)
            assert link.count() == 1, f"{link.count()} menu links labelled {info.title!r}"
            link.click()
            # settings shared by pages travel along (the picture chosen on Home stays chosen)
            page.wait_for_url(re.compile(re.escape(_url(server, info)) + r"(\?.*)?$"))
            if info.url_path:
                page.locator("[data-testid='stMain'] h1", has_text=info.title).first.wait_for()
            wait_idle(page)
        settle(page)
        exceptions = page.locator("[data-testid='stException']")
        if exceptions.count():
            problems.append(f"{info.path} shows an exception: {exceptions.all_inner_texts()}")
        headings = _h1s(page)
        expected = [info.title] if info.url_path else default_h1
        if not all(h in headings for h in expected):
            problems.append(f"{info.path}: h1s {headings}, expected {expected}")
        if n == len(PAGES):  # back Home: nothing more to measure
            break
        cut = cut_text(page)
        if cut:
            problems.append(f"{info.path} at 1280x720, normal mode:\n{cut}")
        readme_shot(page, _id(info) if info.url_path else "home")
    assert not problems, "\n".join(problems)

    titles = _nav_titles(page)
    assert titles == [p.title for p in PAGES], (
        f"sidebar menu {titles} != PAGES titles {[p.title for p in PAGES]} "
        "(a stray entry means the legacy pages/ auto-discovery is showing)"
    )
    hrefs = [
        urlsplit(h).path for h in page.locator(NAV_LINK).evaluate_all("els => els.map(e => e.href)")
    ]
    assert hrefs == ["/" + p.url_path for p in PAGES], hrefs
    errors = wait_idle(page)
    assert errors == [], f"console errors: {errors}"
    assert page_log.external_requests == []


def test_server_still_healthy(server: str) -> None:
    """Runs last in this file: the pages above did not bring the server down."""
    with urllib.request.urlopen(server + "/_stcore/health", timeout=5) as r:
        assert r.read().decode().strip() == "ok"


# The guard is one function every page calls (run_safely; tests/pages/test_pages_are_guarded.py checks
# each page goes through it): two pages, the lightest and the heaviest, each on its own new server.
# Output size is opened by a lesson link with its own settings (the page must read them on the
# server's very first request).
FIRST_LINKS = {"output_size": "?in=9&k=4&s=2"}


@pytest.mark.parametrize(
    "info", [p for p in PAGES if p.url_path in ("output_size", "train")], ids=_id
)
def test_first_visitor_of_a_new_server_can_arrive_by_deep_link(
    fresh_server, page, wait_idle, info: PageInfo
) -> None:
    """A teacher restarts the server and pastes a lesson link: the very first request is a deep
    link. Streamlit's legacy pages/ mode would run the page file alone, with a menu of file
    names and without app.py; the page must still open under the app's own menu."""
    with fresh_server() as base_url:
        page.goto(_url(base_url, info) + FIRST_LINKS.get(info.url_path, ""))
        errors = wait_idle(page)
        page.locator("[data-testid='stMain'] h1", has_text=info.title).first.wait_for()
        assert _nav_titles(page) == [p.title for p in PAGES]
        assert page.locator("[role='dialog']").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
        assert errors == []
        if info.url_path == "output_size":  # the lesson link's settings, not the defaults
            expect(page.locator(".st-key-k input")).to_have_value("4")
            expect(page.locator("[data-testid='stMarkdownContainer'] code").first).to_have_text(
                cnnviz.output_size(9, 4, 2).dims[0].formula
            )


def test_a_request_off_the_machine_fails_and_is_recorded(page, page_log) -> None:
    """The guard every browser test relies on (page_log.external_requests == [] above)."""
    page.goto("about:blank")
    failed = page.evaluate(
        "() => fetch('https://fonts.googleapis.com/css').then(() => false, () => true)"
    )
    assert failed
    assert page_log.external_requests == ["https://fonts.googleapis.com/css"]
