"""Pooling page in a real browser: move the stride, read the pooled grids, see channels kept."""

import torch
import torch.nn.functional as F
from playwright.sync_api import expect


def test_stride_changes_the_pooled_grids(server, page, wait_idle):
    page.goto(server + "/pooling")
    errors = wait_idle(page)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("Max pool 2×2")
    thumb = page.locator(".st-key-s input[type='range']")
    thumb.press("ArrowLeft")  # stride 2 -> 1: overlapping windows, a 3x3 result
    wait_idle(page)
    expect(main).to_contain_text("Max pool 3×3")
    expect(main).to_contain_text("Average pool 3×3")
    grid = torch.tensor([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]]).float()
    want = [f"{v:g}" for v in F.max_pool2d(grid[None, None], 2, 1).flatten().tolist()]
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.nth(1)).to_contain_text("6")
    texts = charts.nth(1).locator("text").all_text_contents()
    numbers = [t for t in texts if t.strip().isdigit()]
    assert numbers[:9] == want, numbers
    expect(main).to_contain_text("3 channels in, 3 channels out")
    assert "s=1" in page.url
    assert not errors
