"""Every page in cnnviz.ui.nav.PAGES runs without an exception, through the router and alone.

Parametrized over PAGES: a page added to the menu is tested here with no change to this file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.ui.nav import PAGES, PageInfo

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
TIMEOUT = 30  # seconds per run: pages may import torch and compute on first run


def _id(page: PageInfo) -> str:
    return page.url_path or "default"


def _exceptions(at: AppTest) -> str:
    return "\n\n".join(f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception)


def test_pages_are_well_formed() -> None:
    assert PAGES, "the menu has no pages"
    defaults = [p for p in PAGES if not p.url_path]
    assert len(defaults) == 1, "exactly one page is the default (url_path '')"
    for field in ("path", "title", "url_path"):
        values = [getattr(p, field) for p in PAGES]
        assert len(values) == len(set(values)), f"duplicate {field} in PAGES: {values}"
    for page in PAGES:
        assert (ROOT / page.path).is_file(), f"{page.path} does not exist"


def test_router_runs_default_page() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, _exceptions(at)


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_router_switches_to_page(page: PageInfo) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, _exceptions(at)
    at.switch_page(page.path).run()
    assert not at.exception, _exceptions(at)
    titles = [t.value for t in at.title]
    if page.url_path:  # the default page may carry the app's name as its heading instead
        assert page.title in titles, f"{page.path}: no st.title({page.title!r}); titles: {titles}"
    else:
        assert titles, f"{page.path}: the default page has no st.title"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_runs_alone(page: PageInfo) -> None:
    at = AppTest.from_file(ROOT / page.path, default_timeout=TIMEOUT).run()
    assert not at.exception, _exceptions(at)
