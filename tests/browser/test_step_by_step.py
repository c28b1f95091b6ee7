"""Step by step in a real browser: a speaker's keyboard (arrows, space) and Play to the end."""

import json
import re

import numpy as np
from playwright.sync_api import expect

import cnnviz
from cnnviz.kernels import parse_kernel
from cnnviz.numbers import fmt

X = "1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0"  # the page's default example
K = "1 0 1; 0 1 0; 1 0 1"
OUT = cnnviz.conv2d(parse_kernel(X)[None], parse_kernel(K)[None, None])[0]

# the labels of the grid with this key as the page shows them, row by row
_LABELS_JS = """
(key) => {
  const cells = document.querySelectorAll(`.st-key-${key} [data-grid] [data-r]`);
  if (!cells.length) return null;
  const rows = [];
  for (const c of cells) (rows[+c.dataset.r] ||= [])[+c.dataset.c] = c.textContent;
  return JSON.stringify(rows);
}
"""

POLL_MS = 50  # how often a wait re-checks the page (as tests/browser/conftest.py's waits)


def cell(page):
    return page.locator(".st-key-cell_value")


def play_button(page):
    return page.locator(".st-key-play button")


def expect_grid(page, want: list[list[str]], key: str = "out_0") -> None:
    """Wait until the grid `key` shows exactly these cell labels."""
    text = json.dumps(want, separators=(",", ":"))
    page.wait_for_function(
        f"(key) => ({_LABELS_JS})(key) === {json.dumps(text)}",
        arg=key,
        timeout=15_000,
        polling=POLL_MS,  # not every frame ("raf", the default): 60 checks a second cost CPU
    )


def open_page(page, server, wait_idle, query: str = "") -> None:
    page.goto(server + "/step_by_step" + query)
    wait_idle(page)
    expect(cell(page)).to_contain_text("Step ")
    # the grids drawn, and the buttons whose keyboard shortcuts the tests press: Streamlit
    # loads a button's code on its own and binds its shortcut once the button has drawn (its
    # key hint shows). A key pressed before that is dropped (once in a clean clone's first run).
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stMain] [data-grid]').length >= 2",
        polling=POLL_MS,
    )
    for key in ("back", "play", "next"):
        page.locator(f".st-key-{key} [data-has-shortcut='true']").wait_for()
    page.locator("h1").first.click()  # focus on the page, not on a widget


def test_right_arrow_n_times_reads_the_nth_output_cell(server, page, wait_idle):
    open_page(page, server, wait_idle)
    expect(cell(page)).to_contain_text(
        f"Step 1 of 9: output cell (row 0, column 0) = {fmt(OUT[0, 0])}"
    )
    n = 5
    for i in range(n):
        page.keyboard.press("ArrowRight")
        expect(cell(page)).to_contain_text(f"Step {i + 2} of 9", timeout=15_000)  # it landed
        wait_idle(page)
    r, c = divmod(n, 3)
    expect(cell(page)).to_contain_text(f"output cell (row {r}, column {c}) = {fmt(OUT[r, c])}")
    assert re.search(r"[?&]step=6\b", page.url)  # the step is in the URL
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    expect(cell(page)).to_contain_text(
        f"Step 5 of 9: output cell (row 1, column 1) = {fmt(OUT[1, 1])}"
    )
    # cells not computed yet are empty
    shown = [fmt(v) if i < 5 else "" for i, v in enumerate(OUT.reshape(-1))]
    expect_grid(page, np.array(shown).reshape(3, 3).tolist())
    assert not page.locator("[data-testid='stException']").count()


def test_play_to_the_end_gives_the_engines_grid(server, page, wait_idle):
    open_page(page, server, wait_idle)
    play_button(page).click()
    expect(play_button(page)).to_contain_text("Pause")
    expect(cell(page)).to_contain_text("Step 9 of 9", timeout=30_000)
    expect(play_button(page)).to_contain_text("Play", timeout=10_000)  # stops by itself
    wait_idle(page)
    expect_grid(page, [[fmt(v) for v in row] for row in OUT])


def test_space_toggles_play(server, page, wait_idle):
    open_page(page, server, wait_idle, "?x0=" + "; ".join(["1 2 3 4 5 6 7 8"] * 8))
    expect(cell(page)).to_contain_text("Step 1 of 36")
    page.keyboard.press("Space")
    expect(play_button(page)).to_contain_text("Pause")
    expect(cell(page)).not_to_contain_text("Step 1 of 36", timeout=10_000)  # it moves
    page.keyboard.press("Space")
    expect(play_button(page)).to_contain_text("Play")
    wait_idle(page)
    stopped = cell(page).inner_text()
    page.wait_for_timeout(1500)  # paused: no further steps
    assert cell(page).inner_text() == stopped


def test_transposed_link_in_the_browser(server, page, wait_idle):
    query = "?mode=Transposed+conv&x0=1+2%3B+3+4&k0=1+1%3B+1+1&s=2&step=4"
    open_page(page, server, wait_idle, query)
    expect(cell(page)).to_contain_text("Step 4 of 4: input cell (row 1, column 1) = 4")
    want = cnnviz.conv_transpose2d(
        np.float32([[[1, 2], [3, 4]]]), np.ones((1, 1, 2, 2), np.float32), stride=2
    )[0]
    expect_grid(page, [[fmt(v) for v in row] for row in want])


def test_the_frame_downloads_as_png_and_the_walk_as_gif(server, page, wait_idle):
    from io import BytesIO

    from PIL import Image

    open_page(page, server, wait_idle, "?step=3")
    for key, fmt_name, frames in (("png", "PNG", 1), ("gif", "GIF", 9)):
        with page.expect_download(timeout=30_000) as info:
            page.locator(f".st-key-{key} button").click()
        image = Image.open(BytesIO(open(info.value.path(), "rb").read()))
        assert image.format == fmt_name
        assert getattr(image, "n_frames", 1) == frames


def test_typing_in_a_grid_box_does_not_step_or_play(server, page, wait_idle):
    open_page(page, server, wait_idle)
    box = page.locator(".st-key-k0 textarea")
    box.click()
    box.press("End")
    for key in ("ArrowLeft", "ArrowLeft", "Space", "ArrowRight"):
        box.press(key)
    expect(box).to_have_value("1 0 1; 0 1 0; 1 0  1")
    expect(cell(page)).to_contain_text("Step 1 of 9")
    expect(play_button(page)).to_contain_text("Play")
