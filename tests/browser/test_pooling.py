"""Pooling page in a real browser: move the stride, read the pooled grids, see channels kept."""

import torch
import torch.nn.functional as F
from playwright.sync_api import expect


def test_stride_changes_the_pooled_grids(server, page, wait_idle):
    page.goto(server + "/pooling")
    errors = wait_idle(page)
    main = page.get_by_test_id("stMain")
    # each grid by its key, not its place: while the page redraws, a grid not yet drawn
    # again shifts the others' places (CI once read the max pool's numbers as the average's)
    max_chart = page.locator(".st-key-pool_max [data-grid]")
    avg_chart = page.locator(".st-key-pool_avg [data-grid]")
    expect(max_chart).to_contain_text("Max pool", timeout=60_000)
    expect(max_chart).to_contain_text("window 2×2 → output 2×2")  # not "Max pool 2×2"
    thumb = page.locator(".st-key-s input[type='range']")
    thumb.press("ArrowLeft")  # stride 2 -> 1: overlapping windows, a 3x3 result
    wait_idle(page)
    expect(max_chart).to_contain_text("window 2×2 → output 3×3")
    expect(avg_chart).to_contain_text("Average pool")
    expect(avg_chart).to_contain_text("window 2×2 → output 3×3")
    grid = torch.tensor([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]]).float()
    want = [f"{v:g}" for v in F.max_pool2d(grid[None, None], 2, 1).flatten().tolist()]
    expect(max_chart).to_contain_text("6")
    texts = max_chart.locator("[data-r]").all_text_contents()
    numbers = [t for t in texts if t.strip().isdigit()]
    assert numbers[:9] == want, numbers
    expect(main).to_contain_text("3 channels in, 3 channels out")
    assert "s=1" in page.url
    assert not errors


def test_ceil_mode_keeps_partial_windows_and_says_how_they_divide(server, page, wait_idle):
    """5×5 grid, window 2, stride 2: turning ceil_mode on adds partial windows at the bottom
    and right; the top-right average is 13 / 2 (torch), and the page says it divides by 2."""
    grid = "; ".join(" ".join(str(5 * r + c) for c in range(5)) for r in range(5))
    page.goto(server + "/pooling?k=2&s=2&grid=" + grid.replace(" ", "+"))
    errors = wait_idle(page)
    main = page.get_by_test_id("stMain")
    avg_chart = page.locator(".st-key-pool_avg [data-grid]")  # by key
    expect(avg_chart).to_contain_text("window 2×2 → output 2×2", timeout=60_000)
    page.locator(".st-key-ceil").get_by_text("ceil_mode (round the size up)").click()
    wait_idle(page)
    expect(avg_chart).to_contain_text("window 2×2 → output 3×3")
    t = torch.arange(25.0).reshape(1, 1, 5, 5)
    want = F.avg_pool2d(t, 2, 2, ceil_mode=True)[0, 0]
    assert float(want[0, -1]) == 6.5  # (4 + 9) / 2
    texts = [s.strip() for s in avg_chart.locator("[data-r]").all_text_contents()]
    assert [f"{v:.3g}" for v in want.flatten().tolist()] == [s for s in texts if s][:9]
    expect(main).to_contain_text("the last window divides by 1 × 1 = 1, not 4")
    expect(main).to_contain_text("keeps a last, partial window")
    assert "ceil=true" in page.url
    assert not errors
