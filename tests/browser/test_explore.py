"""Explore a trained net in a real browser, as a student does: draw a digit on the canvas with
the mouse and see the answer and every layer update; click a channel in the overview and see how
it is made; click a unit of that channel and see its receptive field, kept in the address."""

from __future__ import annotations

import re

import numpy as np
from playwright.sync_api import expect

from cnnviz.render.overview import overview_png

LONG = 30_000  # ms: a run of the page on a loaded 2-core machine
IMAGE_COORDS = "iframe[title='streamlit_image_coordinates.streamlit_image_coordinates']"
# the built-in digits net: conv8k3-relu-max2-conv16k3-relu-max2-flat-fc, as the overview lays it out
SHAPES = [(1, 28, 28), (8, 26, 26), (8, 26, 26), (8, 13, 13), (16, 11, 11), (16, 11, 11)]
SHAPES += [(16, 5, 5), (400,), (10,)]


def stroke(page, box: dict, points: list[tuple[float, float]]) -> None:
    """One pen stroke through points given as fractions of the canvas."""
    x, y = points[0]
    page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=4)
    page.mouse.up()


def pad(page):
    """The drawing pad's canvas, once its listeners are on (the pad's script runs after the
    canvas is in the page: a stroke before that would draw nothing)."""
    canvas = page.locator(".st-key-canvas canvas").last
    expect(canvas).to_have_attribute("data-ready", "1", timeout=LONG)
    return canvas


def overview_img(page):
    return page.locator(f".st-key-overview_click {IMAGE_COORDS}").content_frame.locator("img")


def unit_img(page):
    return page.locator(f".st-key-unit_click {IMAGE_COORDS}").content_frame.locator("img")


def test_draw_then_click_a_channel_then_a_unit(server, page, wait_idle):
    page.goto(server + "/explore?src=Draw")
    wait_idle(page)
    expect(page.get_by_text("The canvas is empty: draw a digit.")).to_be_visible()
    stroke(page, pad(page).bounding_box(), [(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)])  # a 1
    verdict = page.locator(".st-key-verdict")
    expect(verdict).to_contain_text("It says", timeout=LONG)
    expect(page.get_by_text(re.compile("Fed to the net .*your drawing"))).to_be_visible()
    wait_idle(page)
    # the overview is an iframe component that draws its picture after the run is over: read
    # its src once it has one (CI read it before, got None, and waited for "no src" in vain)
    expect(overview_img(page)).to_have_attribute("src", re.compile("^data:image/png"), timeout=LONG)
    first = overview_img(page).get_attribute("src")
    # its bar, now a 7 (the box measured again: the page grew around the pad)
    stroke(page, pad(page).bounding_box(), [(0.2, 0.15), (0.5, 0.15), (0.8, 0.15)])
    expect(overview_img(page)).not_to_have_attribute("src", first, timeout=LONG)
    expect(verdict).to_contain_text("It says 7", timeout=LONG)
    wait_idle(page)

    # click channel 5 of the second conv layer (column 4) in the overview picture
    ov = overview_png([(str(i), np.zeros(s, np.float32)) for i, s in enumerate(SHAPES)])
    thumb = next(t for t in ov.thumbs if (t.column, t.channel) == (4, 5))
    img = overview_img(page)
    shown = img.bounding_box()
    scale = shown["width"] / ov.width
    img.click(
        position={
            "x": (thumb.left + thumb.right) / 2 * scale,
            "y": (thumb.top + thumb.bottom) / 2 * scale,
        }
    )
    expect(page.get_by_text("How channel 5 of 4. conv16k3 is made")).to_be_visible(timeout=LONG)
    expect(page.locator(".st-key-channel_words")).to_contain_text("8 input channels")
    wait_idle(page)

    # click the unit at row 2, column 8 of that 11 × 11 map
    img = unit_img(page)
    shown = img.bounding_box()
    img.click(position={"x": shown["width"] * 8.5 / 11, "y": shown["height"] * 2.5 / 11})
    expect(page.get_by_text(re.compile(r"Channel 5, row 2, column 8"))).to_be_visible(timeout=LONG)
    # conv 3×3 → max pool 2 → conv 3×3: 8 × 8 input pixels, from row 2·2 and column 2·8
    expect(page.locator(".st-key-unit_words")).to_contain_text(
        "It sees 8 × 8 input pixels (rows 4–11, columns 16–23", timeout=LONG
    )
    # the address keeps the unit (layer-channel-row-column) for a shared link
    expect(page).to_have_url(re.compile(r"[?&]unit=4-5-2-8(&|$)"), timeout=LONG)


def test_only_the_wrong_ones_on_and_off_keeps_every_section(server, page, wait_idle):
    """The picture changes twice, and its prediction with it. The Grad-CAM class box's label
    used to name the prediction: the browser then sent a label no option had, and the "why"
    section broke into an apology."""
    page.goto(server + "/explore")
    wait_idle(page)
    toggle = page.locator(".st-key-wrong label")
    for box in (".st-key-missed", ".st-key-ex"):  # a mistake's box, then the number again
        toggle.click()
        expect(page.locator(box)).to_be_visible(timeout=LONG)
        wait_idle(page)
        expect(page.locator(".st-key-why_words")).to_contain_text("evidence", timeout=LONG)
        expect(page.get_by_text("Something went wrong")).to_have_count(0)
