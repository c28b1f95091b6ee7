"""Home in a real browser: the pipeline is drawn, and "Try it" takes a student to the page."""

from playwright.sync_api import expect


def test_home_draws_the_pipeline_and_links_onwards(server, page, wait_idle):
    page.goto(server + "/")
    errors = wait_idle(page)
    main = page.locator("[data-testid='stMain']")
    for title in (
        "Input",
        "Convolution",
        "ReLU",
        "Max pooling",
        "Flatten",
        "Fully connected",
        "Softmax",
    ):
        expect(main.locator("h3", has_text=title).first).to_be_visible()
    # the input, conv, ReLU, pool and flatten pictures are images, not float heatmaps
    expect(main.locator("[data-testid='stImage'] img").nth(4)).to_be_visible()
    assert not errors
    page.get_by_role("link", name="Try it: Convolution").first.click()
    page.wait_for_url(server + "/convolution")
    expect(page.locator("h1", has_text="Convolution")).to_be_visible()


def test_home_sample_picker_changes_the_picture(server, page, wait_idle):
    page.goto(server + "/?sample=checkerboard")
    wait_idle(page)
    captions = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']")
    expect(captions.filter(has_text="Black and white squares")).to_have_count(1)
    combo = page.get_by_role("combobox", name="Image")
    expect(combo).to_have_value("checkerboard")
    page.locator(".st-key-sample").get_by_role("button", name="Open").click()
    page.get_by_role("option", name="coins", exact=True).click()
    expect(combo).to_have_value("coins")
    expect(captions.filter(has_text="Old coins")).to_have_count(1)
    assert "sample=coins" in page.url
