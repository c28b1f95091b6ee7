"""`?present=1` turns presentation mode on for every page (no exception), the toggle follows
the link, and the URL keeps the mode across page switches."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.ui.nav import PAGES, PageInfo

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
TIMEOUT = 30


def _id(page: PageInfo) -> str:
    return page.url_path or "default"


def _exceptions(at: AppTest) -> str:
    return "\n\n".join(f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception)


@pytest.mark.parametrize("page", PAGES, ids=_id)
@pytest.mark.parametrize("value", ["1", "true"])
def test_present_link_turns_the_mode_on(page: PageInfo, value: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["present"] = value
    at.run()
    at.switch_page(page.path).run()
    assert not at.exception, _exceptions(at)
    assert at.toggle(key="present").value is True
    assert at.query_params.get("present") in (["1"], "1")
    # the mode's style sheet is on the page (big type, no sidebar)
    assert any("font-size: 24px" in str(h.proto.body) for h in at.get("html"))
    if page.path != "pages/train.py":  # Train keeps its own tabs
        labels = [e.label for e in at.expander]
        assert labels, f"{page.path}: no settings expander in presentation mode"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_without_the_link_the_mode_is_off(page: PageInfo) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(page.path).run()
    assert not at.exception, _exceptions(at)
    assert at.toggle(key="present").value is False
    assert "present" not in at.query_params
    assert not any("font-size: 24px" in str(h.proto.body) for h in at.get("html"))


def test_toggle_on_then_off_writes_the_url() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.toggle(key="present").set_value(True).run()
    assert not at.exception, _exceptions(at)
    assert at.query_params.get("present") in (["1"], "1")
    at.switch_page("pages/pooling.py").run()
    assert at.toggle(key="present").value is True  # the mode follows to the next page
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_page_alone_reads_the_link(page: PageInfo) -> None:
    """A page run without app.py (Streamlit's legacy mode on a fresh server) still reads it."""
    at = AppTest.from_file(ROOT / page.path, default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception, _exceptions(at)
