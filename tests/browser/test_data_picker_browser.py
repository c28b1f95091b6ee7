"""The data picker on the Train page in a real browser: a built-in set chosen from the menu
lands in the URL and shows its counts and previews; a zip of class folders is read, a hostile
one refused with a sentence."""

from __future__ import annotations

import io
import re
import zipfile

from PIL import Image
from playwright.sync_api import expect

LONG = 30_000  # ms: a loaded 2-core machine can be slow


def png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "PNG")
    return buf.getvalue()


def write_zip(path, entries: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def counts_table(page):
    return page.locator("[data-testid='stMarkdownContainer'] table").filter(visible=True).first


def test_builtin_choice_goes_to_the_url_with_counts_and_previews(server, page, wait_idle):
    page.goto(server + "/train")
    wait_idle(page)
    expect(counts_table(page)).to_contain_text("6,285")  # digits' training pictures
    page.locator(".st-key-data").get_by_role("combobox").click()
    page.get_by_role("option", name="shapes", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]data=shapes\b"), timeout=LONG)
    expect(counts_table(page)).to_contain_text("triangle", timeout=LONG)
    expect(counts_table(page)).to_contain_text("5,000")
    previews = page.locator("[data-testid='stImage'] img").filter(visible=True)
    expect(previews).to_have_count(5, timeout=LONG)  # one strip per class
    expect(previews.first).to_have_attribute("src", re.compile(r"media|data:image/png"))
    # a link opens the same choice
    page.goto(server + "/train?data=orientations")
    wait_idle(page)
    expect(counts_table(page)).to_contain_text("rising diagonal", timeout=LONG)


def test_zip_of_class_folders_then_a_hostile_zip(server, page, wait_idle, tmp_path):
    good = {f"sun/{i}.png": png((250, 200, 0)) for i in range(4)}
    good |= {f"sea/{i}.png": png((0, 60, 200)) for i in range(4)}
    bad = {"../../etc/evil.png": png((0, 0, 0)), "sun/1.png": png((1, 1, 1))}
    page.goto(server + "/train?data_src=Zip")
    wait_idle(page)
    uploader = page.locator(".st-key-data_zip input[type='file']")
    uploader.set_input_files(write_zip(tmp_path / "weather.zip", good))
    expect(counts_table(page)).to_contain_text("sun", timeout=LONG)
    expect(counts_table(page)).to_contain_text("sea")
    expect(page.get_by_text("weather.zip: 8 colour 32×32 pictures, 2 classes")).to_be_visible()
    uploader.set_input_files(write_zip(tmp_path / "evil.zip", bad))
    error = page.locator("[data-testid='stAlertContentError']").filter(visible=True)
    expect(error).to_contain_text("unsafe path", timeout=LONG)
    assert not page.locator("[data-testid='stException']").count()
