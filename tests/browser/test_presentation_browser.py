"""Presentation mode in a real browser, as a speaker uses it: every page at 1280x720 and at
150 % zoom (a 853x480 CSS viewport: what fits is measured in CSS pixels), with nothing cut or overflowing, body
text at least 24 px, and Step by step driven by the keyboard without a click first.

What "cut" means is measured on element boxes (tests/browser/clipping.js): text whose
scrollWidth passes its clientWidth inside a clipping box, any text, button or figure sticking
out of the container that clips it or out of the page, a chart drawn wider than its element.

`CNNVIZ_SCREENSHOTS=1` (what `make screenshots` sets) also writes docs/screenshots/<page>-present.png
at 1280x720 for the README's gallery (the normal-mode shots come from tests/browser/test_pages.py,
which checks the normal mode the same way).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnviz.ui.nav import PAGES, PageInfo

HERE = Path(__file__).parent
BODY_FONT_JS = (HERE / "body_font.js").read_text(encoding="utf-8")

# the window sizes, in CSS pixels (every tab of the tests is at device scale 1)
SCREEN = {"viewport": {"width": 1280, "height": 720}}
ZOOM_150 = {"viewport": {"width": 853, "height": 480}}


def _id(page: PageInfo) -> str:
    return page.url_path or "home"


def _open(tab, url: str, settle):
    """The test's tab at 1280x720, on `url`, drawn to the last chart."""
    tab.set_viewport_size(SCREEN["viewport"])
    tab.goto(url)
    settle(tab)
    return tab


@pytest.mark.parametrize("info", PAGES, ids=_id)
def test_presentation_mode_fits_a_720p_projector_and_150_percent_zoom(
    server: str, page, settle, cut_text, readme_shot, info: PageInfo
) -> None:
    """At 1280x720, then at 150 % zoom: the same tab resized to 853x480 CSS pixels (what 150 %
    zoom does to a 1280x720 screen: boxes are measured in CSS pixels, so the device scale does not
    change what fits)."""
    tab = _open(page, f"{server}/{info.url_path}?present=1", settle)
    assert tab.locator("[data-testid='stException']").count() == 0
    assert not tab.locator("[data-testid='stSidebar']").is_visible(), "sidebar still shown"
    assert not tab.locator("[data-testid='stHeader']").is_visible(), "header still shown"
    body = tab.evaluate(BODY_FONT_JS)
    assert body >= 24, f"{info.path}: body text {body} px in presentation mode"
    toggle = tab.locator(".st-key-present_toggle")
    assert toggle.is_visible(), "no way back: the presentation toggle is not on screen"
    # the settings (the expanders with the "tune" icon) start closed: the result first
    opened = tab.locator("[data-testid='stExpander'] details[open] > summary").filter(
        has=tab.locator("[data-testid='stExpanderIcon']", has_text="tune")
    )
    assert opened.count() == 0, f"{info.path}: settings open in presentation mode"
    problems = cut_text(tab)
    assert not problems, f"{info.path} at 1280x720, presenting:\n{problems}"
    readme_shot(tab, f"{_id(info)}-present")

    tab.set_viewport_size(ZOOM_150["viewport"])
    settle(tab)
    problems = cut_text(tab)
    assert not problems, f"{info.path} at 150 % zoom, presenting:\n{problems}"


def test_toggle_turns_the_mode_on_and_off(server: str, page, settle) -> None:
    tab = _open(page, f"{server}/pooling", settle)
    assert tab.locator("[data-testid='stSidebar']").is_visible()
    tab.locator(
        "[data-testid='stSidebar'] [data-testid='stCheckbox']", has_text="Presentation mode"
    ).click()
    tab.wait_for_url(re.compile(r"present=1"))
    tab.locator("[data-testid='stSidebar']").wait_for(state="hidden")
    settle(tab)
    assert tab.evaluate(BODY_FONT_JS) >= 24
    # back: the toggle pinned at the top right
    tab.locator(".st-key-present_toggle [data-testid='stCheckbox']").click()
    tab.locator("[data-testid='stSidebar']").wait_for(state="visible")
    assert "present=" not in tab.url


def test_step_by_step_keys_work_without_a_click(server: str, page, settle) -> None:
    """A speaker opens the link and presses → at once: the step moves, on screen."""
    tab = _open(page, f"{server}/step_by_step?present=1", settle)
    value = tab.locator(".st-key-cell_value")
    assert value.is_visible() and value.bounding_box()["y"] < 720, "the sum is off screen"
    assert "Step 1 of" in value.inner_text()
    # the arrow buttons drawn (their key hints show): Streamlit binds a shortcut then
    for key in ("back", "next"):
        tab.locator(f".st-key-{key} [data-has-shortcut='true']").wait_for()
    tab.keyboard.press("ArrowRight")
    tab.locator(".st-key-cell_value", has_text="Step 2 of").wait_for(timeout=15_000)
    tab.keyboard.press("ArrowRight")
    tab.locator(".st-key-cell_value", has_text="Step 3 of").wait_for(timeout=15_000)
    tab.keyboard.press("ArrowLeft")
    tab.locator(".st-key-cell_value", has_text="Step 2 of").wait_for(timeout=15_000)


# States a default page load does not reach: Train's other tabs, with the Keras net's table.
KERAS = "conv32k3-relu-max2-conv64k3-relu-max2-conv64k3-relu-flat-fc64-relu-fc"
STATES = {
    "train-architecture-keras": f"/train?step=Architecture&arch={KERAS}",
    "train-train-tab": "/train?step=Train",
    "step-by-step-3-channels": "/step_by_step?ch=3",
    "step-by-step-transposed": "/step_by_step?mode=Transposed+conv",
    "explore-drawing-pad": "/explore?src=Draw",
}


@pytest.mark.parametrize("name", list(STATES))
def test_deeper_states_cut_nothing(server: str, page, settle, cut_text, name: str) -> None:
    """Presenting, at 1280x720 and then at 150 % zoom (the same tab resized)."""
    tab = _open(page, server + STATES[name] + "&present=1", settle)
    assert tab.locator("[data-testid='stException']").count() == 0
    problems = cut_text(tab)
    assert not problems, f"{name} at 1280x720, presenting:\n{problems}"
    tab.set_viewport_size(ZOOM_150["viewport"])
    settle(tab)
    problems = cut_text(tab)
    assert not problems, f"{name} at 150 % zoom, presenting:\n{problems}"


def test_the_cut_check_sees_a_drawing_wider_than_its_column(
    server: str, page, settle, cut_text
) -> None:
    """clipping.js sees drawings: a Vega chart's drawing and a number grid's cells made wider
    than their column (by hand, in the page) are both reported."""
    tab = _open(page, f"{server}/output_size", settle)
    assert not cut_text(tab)
    tab.evaluate(
        """() => {
          const chart = document.querySelector(
            "[data-testid='stVegaLiteChart'] svg, [data-testid='stVegaLiteChart'] canvas");
          chart.style.width = "3000px";
          const holder = chart.closest("[data-testid='stElementContainer']");
          const grid = document.createElement("div");
          grid.innerHTML = '<div data-grid="t"><div style="width:3000px"><div data-r="0" data-c="0">7</div></div></div>';
          holder.appendChild(grid);
        }"""
    )
    problems = cut_text(tab).splitlines()
    assert any(p.startswith(("svg", "canvas")) for p in problems), problems
    # the grid's cells box has no text of its own: only the third check can see it
    assert any(p.startswith("div") and "px wide in a" in p for p in problems), problems
