"""Train a CNN in a real browser: pick a preset, start, watch the curves and the activations
change, pause, resume, stop, download the model; and a second student waits in the queue (told
their place and about how long) until the first one closes the tab (which stops that training's
worker process)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from cnnviz import arch, checkpoint

LONG = 30_000  # ms: a training step on a loaded 2-core machine can be slow


def button(page, key: str):
    # filter: while a tab switch re-renders, a hidden copy of the panel can linger a moment
    return page.locator(f".st-key-{key} button").filter(visible=True)


def progress(page):
    return page.locator("[data-testid='stProgress']").first


def layer_maps(page):
    """The picture of the first layer's activations (the second image in the Activations tab;
    the first is the input)."""
    return page.locator(".st-key-view [data-testid='stImage'] img").nth(1)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).first.click()
    expect(page.get_by_role("tab", name=name, exact=True).first).to_have_attribute(
        "aria-selected", "true"
    )


def test_student_trains_lenet_watches_it_and_keeps_it(server, page, wait_idle):
    page.goto(server + "/train?epochs=40")
    wait_idle(page)
    open_tab(page, "Architecture")
    page.locator(".st-key-arch_preset").click()
    page.get_by_role("option", name="LeNet-5").click()
    expect(page).to_have_url(re.compile(r"arch=conv6k5p2"), timeout=LONG)
    open_tab(page, "Train")
    wait_idle(page)

    button(page, "tr_start").click()
    expect(progress(page)).to_contain_text("Training", timeout=LONG)
    expect(page.locator(".stVegaLiteChart, [data-testid='stVegaLiteChart']")).to_have_count(
        3, timeout=LONG
    )  # loss, accuracy, and the softmax of the watched sample
    expect(page.locator(".st-key-view")).to_contain_text("0. conv6k5p2 · 6 × 16 × 16")
    first = layer_maps(page).get_attribute("src")
    expect(layer_maps(page)).not_to_have_attribute("src", first, timeout=LONG)  # it learns

    button(page, "tr_pause").click()
    expect(progress(page)).to_contain_text("Paused", timeout=LONG)
    expect(button(page, "tr_resume")).to_be_enabled(timeout=LONG)
    wait_idle(page)
    step = re.search(r"epoch (\d+)/40 · batch (\d+)/", progress(page).inner_text())
    page.wait_for_timeout(1500)
    expect(progress(page)).to_contain_text(step.group(0))  # paused means paused

    button(page, "tr_resume").click()
    expect(progress(page)).to_contain_text("Training", timeout=LONG)
    expect(progress(page)).not_to_contain_text(step.group(0), timeout=LONG)

    button(page, "tr_stop").click()
    expect(progress(page)).to_contain_text("Stopped", timeout=LONG)
    expect(page.locator("[data-testid='stMetric']").first).to_contain_text(
        "Test accuracy", timeout=LONG
    )
    expect(button(page, "tr_start")).to_be_enabled()

    open_tab(page, "Model files")
    with page.expect_download() as got:
        button(page, "dl_weights").click()
    weights = got.value
    assert weights.suggested_filename.endswith(".safetensors")
    with page.expect_download() as got:
        button(page, "dl_meta").click()
    meta = got.value
    assert meta.suggested_filename.endswith(".json")
    model, info = checkpoint.load(Path(weights.path()).read_bytes(), Path(meta.path()).read_bytes())
    assert info["arch"] == arch.to_text(arch.parse(arch.PRESETS["lenet5"]))
    assert info["dataset"] == "digits" and info["config"]["epochs"] == 40
    assert sum(p.numel() for p in model.parameters()) > 0


def test_a_waiting_student_starts_when_the_first_closes_the_tab(server, browser, page, wait_idle):
    # the session server trains one at a time (CNNVIZ_MAX_TRAININGS=1, tests/browser/conftest.py)
    url = server + "/train?step=Train&epochs=100"
    page.goto(url)
    wait_idle(page)
    button(page, "tr_start").click()
    expect(progress(page)).to_contain_text("Training", timeout=LONG)

    other = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        second = other.new_page()
        second.goto(url)
        wait_idle(second)
        button(second, "tr_start").click()
        queue = second.locator("[data-testid='stAlertContentInfo']", has_text="in the queue")
        expect(queue).to_contain_text(
            "you are number 1 in the queue", timeout=3 * LONG
        )  # the fork server may still be loading torch
        # the first training tells the queue how long it still needs
        expect(queue).to_contain_text(re.compile(r"about \d+ (s|min)|about now"), timeout=LONG)
        expect(progress(second)).to_contain_text("Waiting")

        page.close()  # the first student closes the tab: their training stops
        expect(progress(second)).to_contain_text("Training", timeout=LONG)
        expect(queue).to_have_count(0)
    finally:
        other.close()


def test_the_architecture_step_shows_its_net_after_being_closed(server, page, wait_idle):
    """Closed, the Architecture step leaves the page (links.offstage); opened again, its boxes
    show the net, and text still being fixed is kept."""
    minimal = arch.PRESETS["minimal"]
    page.goto(server + "/train?step=Train")
    wait_idle(page)
    assert not page.locator(".st-key-arch_text").count()  # closed: not on the page
    open_tab(page, "Architecture")
    text = page.locator(".st-key-arch_text input")
    expect(text).to_have_value(minimal, timeout=LONG)
    expect(page.locator(".st-key-arch_preset input")).to_have_value("Minimal: one conv")
    text.fill(minimal + "-zzz")
    text.press("Enter")
    expect(page.get_by_text("The layers below are still")).to_be_visible(timeout=LONG)
    open_tab(page, "Train")
    expect(page.locator(".st-key-arch_text")).to_have_count(0, timeout=LONG)
    open_tab(page, "Architecture")
    expect(text).to_have_value(minimal + "-zzz", timeout=LONG)
