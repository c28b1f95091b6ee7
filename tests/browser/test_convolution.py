"""Convolution page in a real browser: upload a photo, choose a kernel, move sliders, read the
sizes and the formula, click a pixel and read its total, reopen the shared link."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

import cnnviz
from cnnviz import playground


def choose(page, key: str, option: str, wait_idle) -> None:
    """Type into the select box to filter (long lists render only what is in view), pick."""
    box = page.locator(f".st-key-{key}").get_by_role("combobox")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def slide_to(page, key: str, value: int, wait_idle) -> None:
    """Keyboard on the slider's thumb, as a user without a mouse would."""
    thumb = slider(page, key)
    for _ in range(40):
        now = int(float(thumb.input_value()))
        if now == value:
            return
        thumb.press("ArrowRight" if now < value else "ArrowLeft")
        wait_idle(page)
        expect(thumb).not_to_have_value(str(now))
    raise AssertionError(f"slider {key} never reached {value}")


def slider(page, key: str):
    return page.locator(f".st-key-{key} input[type='range']")


def photo_bytes() -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(1)
    base = cnnviz.sample_image("coffee", "rgb", 512).array  # 512 x 400 photo
    noisy = np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1)
    buf = io.BytesIO()
    Image.fromarray((noisy * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    return data, cnnviz.load_image(data, mode="rgb", max_side=256).array


def cell_value(page):
    return page.get_by_test_id("cell-value")


def test_upload_kernel_stride_padding_click(server, page, wait_idle, tmp_path):
    data, image = photo_bytes()
    (tmp_path / "photo.jpg").write_bytes(data)
    page.goto(server + "/convolution?kernel=identity")
    wait_idle(page)
    page.locator(".st-key-src").get_by_role("radio", name="Upload").click()
    wait_idle(page)
    page.locator(".st-key-upload input[type='file']").set_input_files(tmp_path / "photo.jpg")
    h, w = image.shape[:2]
    expect(page.get_by_text(f"Working on {w} × {h} px.")).to_be_visible(timeout=20_000)
    choose(page, "kernel", "sobel x", wait_idle)
    slide_to(page, "s", 2, wait_idle)
    slide_to(page, "p", 1, wait_idle)
    want = cnnviz.output_size((h, w), 3, 2, 1)
    ho, wo = want.size
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text(f"{h} × {w} × 1 → conv → {ho} × {wo} × 1")
    for d in want.dims:
        expect(main.locator("code", has_text=d.formula)).to_have_count(1)
    # click a pixel of the feature map: the page explains exactly that cell
    frame = page.frame_locator(
        "iframe[title='streamlit_image_coordinates.streamlit_image_coordinates']"
    )
    img = frame.locator("img")
    expect(img).to_be_visible()
    box = img.bounding_box()
    x, y = box["width"] * 0.3, box["height"] * 0.6
    img.click(position={"x": x, "y": y})
    row, col = int(y / box["height"] * ho), int(x / box["width"] * wo)
    heading = page.get_by_text(re.compile(r"The arithmetic of one pixel: map 1, row \d+"))
    expect(heading).to_contain_text(f"row {row}, column {col}", timeout=20_000)
    s = playground.Settings(filters=(cnnviz.preset("sobel_x"),), stride=(2, 2), padding=(1, 1))
    expected = playground.run(image, s).feature[0, row, col]
    expect(cell_value(page)).to_have_text(
        np.format_float_positional(expected, unique=True, trim="-")
    )
    assert f"cell=0-{row}-{col}" in page.url


def test_shared_link_reopens_the_same_state(server, page, wait_idle):
    page.goto(server + "/convolution?kernel=laplacian+4&s=3&pm=reflect&p=2&pool=Average&cell=0-5-7")
    wait_idle(page)
    expect(page.get_by_text("The arithmetic of one pixel: map 1, row 5, column 7")).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    link = page.get_by_test_id("stCode").filter(has_text="http").first
    expect(link).to_contain_text("s=3")
    url = link.inner_text().strip()
    assert "kernel=laplacian+4" in url and "pm=reflect" in url and "cell=0-5-7" in url
    other = page.context.new_page()
    other.goto(url)
    wait_idle(other)
    # a widget's code loads lazily in a new tab: on a busy machine it can mount seconds after
    # the run is over
    expect(slider(other, "s")).to_have_value("3", timeout=20_000)
    expect(other.locator(".st-key-pm").get_by_role("combobox")).to_have_value("reflect")
    expect(other.get_by_text("The arithmetic of one pixel: map 1, row 5, column 7")).to_be_visible()
    want = cnnviz.output_size((256, 256), 3, 3, 2, padding_mode="reflect")
    expect(
        other.get_by_test_id("stMain").locator("code", has_text=want.dims[0].formula)
    ).to_have_count(1)


def test_impossible_settings_are_red_with_a_fix_and_no_traceback(server, page, wait_idle):
    page.goto(server + "/convolution?size=64&sample=dot&kernel=random&kh=11&kw=11&d=5&pool=None")
    errors = wait_idle(page)
    alert = page.get_by_test_id("stAlertContentError")
    expect(alert).to_contain_text("cannot work")
    page.get_by_role("button", name=re.compile(r"^Set ")).first.click()
    wait_idle(page)
    expect(page.get_by_text(re.compile("The arithmetic of one pixel"))).to_be_visible()
    assert not page.get_by_test_id("stException").count()
    assert not errors


def test_editing_a_kernel_cell_makes_it_your_own(server, page, wait_idle):
    page.goto(server + "/convolution")
    wait_idle(page)
    grid = page.locator(".st-key-kernel_grid_0 [data-testid='stDataFrameResizable']")
    for _ in range(3):  # a busy machine can swallow the click that selects the cell
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()  # measured each time: the sidebar may have moved
        page.mouse.click(box["x"] + box["width"] / 6, box["y"] + 35 + 17)  # row 1, column 1
        page.wait_for_timeout(300)
        page.keyboard.type("7")  # a selected cell opens its editor with what is typed
        editor = page.locator("input.gdg-input")
        try:
            expect(editor).to_have_value("7", timeout=3_000)
        except AssertionError:
            page.keyboard.press("Escape")
            continue
        editor.press("Enter")
        try:
            page.wait_for_url(re.compile(r"kt=7"), timeout=8_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    wait_idle(page)
    expect(page.locator(".st-key-kernel").get_by_role("combobox")).to_have_value(
        "my own", timeout=20_000
    )
    assert "kt=7+0+1%3B+-2+0+2%3B+-1+0+1" in page.url
    # the arithmetic uses the new top-left weight
    expect(
        page.get_by_test_id("cnnviz-lines").filter(has_text="window × kernel slice")
    ).to_contain_text("×    7  0  1")


def test_two_students_uploads_stay_their_own(server, browser, page, wait_idle, tmp_path):
    """One server, two browsers (this test process's tab and a new one): each sees only the
    picture they uploaded."""
    pictures = {}
    for name, size in (("a", (40, 30)), ("b", (24, 64))):
        buf = io.BytesIO()
        Image.fromarray(np.full((*size, 3), 90, np.uint8)).save(buf, "PNG")
        (tmp_path / f"{name}.png").write_bytes(buf.getvalue())
        pictures[name] = size
    other = browser.new_context(viewport={"width": 1400, "height": 900})
    tabs = {}
    for name, tab in zip(pictures, (page, other.new_page())):
        tab.goto(server + "/convolution?src=Upload")
        wait_idle(tab)
        tabs[name] = tab
    for name, tab in tabs.items():
        tab.locator(".st-key-upload input[type='file']").set_input_files(tmp_path / f"{name}.png")
    for name, tab in tabs.items():
        h, w = pictures[name]
        expect(tab.get_by_text(f"Working on {w} × {h} px.")).to_be_visible(timeout=20_000)
    # a change in one tab reruns only that session; the other keeps its own picture
    slide_to(tabs["a"], "s", 2, wait_idle)
    slide_to(tabs["b"], "p", 1, wait_idle)
    expect(tabs["a"].get_by_test_id("stMain")).to_contain_text("40 × 30 × 1 → conv → 19 × 14 × 1")
    expect(tabs["b"].get_by_test_id("stMain")).to_contain_text("24 × 64 × 1 → conv → 24 × 64 × 1")
    expect(tabs["b"].get_by_text("Working on 64 × 24 px.")).to_be_visible()
    other.close()


def test_a_reload_keeps_the_uploaded_picture(server, page, wait_idle, tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.full((36, 52, 3), 200, np.uint8)).save(buf, "PNG")
    (tmp_path / "mine.png").write_bytes(buf.getvalue())
    page.goto(server + "/convolution?src=Upload")
    wait_idle(page)
    page.locator(".st-key-upload input[type='file']").set_input_files(tmp_path / "mine.png")
    expect(page.get_by_text("Working on 52 × 36 px.")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"img=[0-9a-f]{32}"))
    page.reload()  # a new Streamlit session: the link brings the picture back
    wait_idle(page)
    expect(page.get_by_text("Working on 52 × 36 px.")).to_be_visible(timeout=20_000)


def test_depthwise_map_is_one_colour_with_one_filter(server, page, wait_idle):
    """Depthwise with a second filter: map 2 is red with sobel y (torch's order), its caption
    says so, and a clicked pixel's value is torch's red channel convolved with sobel y."""
    import torch
    import torch.nn.functional as F

    page.goto(server + "/convolution?pool=None&act=None")
    wait_idle(page)
    page.locator(".st-key-ch").get_by_role("radio", name="Per channel (depthwise)").click()
    wait_idle(page)
    page.locator(".st-key-extra").get_by_text("sobel y", exact=True).click()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("256 × 256 × 3 → conv → 254 × 254 × 6")
    expect(main).to_contain_text("1 = R × your kernel; 2 = R × sobel y; 3 = G × your kernel")
    box = page.locator(".st-key-map input")
    box.fill("2")
    box.press("Enter")
    wait_idle(page)
    expect(main).to_contain_text("Feature map 2: R × sobel y")
    frame = page.frame_locator(
        "iframe[title='streamlit_image_coordinates.streamlit_image_coordinates']"
    )
    img = frame.locator("img")
    expect(img).to_be_visible()
    size = img.bounding_box()
    x, y = size["width"] * 0.4, size["height"] * 0.45
    img.click(position={"x": x, "y": y})
    row, col = int(y / size["height"] * 254), int(x / size["width"] * 254)
    heading = page.get_by_text(re.compile(r"The arithmetic of one pixel: map 2, row \d+"))
    expect(heading).to_contain_text(f"row {row}, column {col}", timeout=20_000)
    image = cnnviz.sample_image("astronaut", "rgb", 256).array
    red = torch.from_numpy(np.ascontiguousarray(image[:, :, 0], np.float32))[None, None]
    sobel_y = torch.from_numpy(cnnviz.preset("sobel_y"))[None, None]
    want = F.conv2d(red, sobel_y)[0, 0, row, col].item()
    shown = float(cell_value(page).inner_text())
    assert abs(shown - want) <= 1e-5 * max(1.0, abs(want)), (shown, want)
    expect(main).to_contain_text("channel R: window × kernel slice")
