"""Pooling page (AppTest): the grid's pooled numbers are the engine's, every control works through
the URL, impossible settings are explained with a working fix, bad links fall back."""

from __future__ import annotations

import re

import numpy as np
import pytest

import cnnviz
from cnnviz.figures.grid import read_labels

PAGE = "pages/pooling.py"
GRID = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], np.float32)


def grids(at) -> list[str]:
    """The HTML of each grid on the page, in page order."""
    return [h.proto.body for h in at.get("html") if "data-grid=" in h.proto.body]


def figure_texts(at) -> list[list]:
    """The numbers written in each grid's cells, in page order."""
    return [read_labels(body).tolist() for body in grids(at)]


def text(at) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [i.value for i in at.info]
        + [c.value for c in at.code]
    )


def test_default_grid_numbers_are_the_engines(open_page) -> None:
    at = open_page(PAGE)
    _, mx, avg, gap = figure_texts(at)
    assert mx == [["6", "5"], ["3", "4"]]
    assert avg == [["3.5", "2"], ["1.5", "2.5"]]
    assert gap == [[f"{GRID.mean():.3g}"]]
    assert cnnviz.output_size((4, 4), 2, 2, op="pool").dims[0].formula in text(at)
    assert "3 channels in, 3 channels out" in text(at)


@pytest.mark.parametrize(
    "params",
    [
        {"k": "3", "s": "1"},
        {"k": "3", "s": "2", "p": "1"},
        {"k": "2", "s": "3", "ceil": "true"},
        {"k": "3", "s": "2", "ceil": "true", "grid": "1 2 3 4 5; 6 7 8 9 10; 1 1 1 1 1"},
        {"sample": "coins", "size": "64"},
    ],
)
def test_controls_match_torch(open_page, params) -> None:
    import torch
    import torch.nn.functional as F

    at = open_page(PAGE, **params)
    assert not at.error, [e.value for e in at.error]
    g = GRID if "grid" not in params else cnnviz.parse_kernel(params["grid"])
    k, s, p = int(params.get("k", 2)), int(params.get("s", 2)), int(params.get("p", 0))
    ceil = params.get("ceil") == "true"
    t = torch.from_numpy(g)[None, None]
    want_max = F.max_pool2d(t, k, s, p, ceil_mode=ceil)[0, 0].numpy()
    want_avg = F.avg_pool2d(t, k, s, p, ceil_mode=ceil)[0, 0].numpy()
    _, mx, avg, _ = figure_texts(at)
    assert mx == [[f"{v:.3g}" for v in row] for row in want_max]
    assert avg == [[f"{v:.3g}" for v in row] for row in want_avg]


def test_edited_grid_size_and_link(open_page) -> None:
    at = open_page(PAGE)
    at.number_input(key="grid_cols").set_value(6).run(timeout=30)
    assert not at.error
    assert len(at.query_params["grid"].split(";")[0].split()) == 6
    link = at.query_params["grid"]
    again = open_page(PAGE, grid=link)
    assert figure_texts(again)[1] == figure_texts(at)[1]


def test_impossible_pool_is_explained_and_fixed(open_page) -> None:
    at = open_page(PAGE, k="6")
    assert any("cannot work" in e.value for e in at.error)
    fix = next(b for b in at.button if b.label.startswith("Set kernel size"))
    fix.click().run(timeout=30)
    assert not at.error and at.slider(key="k").value == 4


def test_padding_more_than_half_the_window_is_refused_with_a_reason(open_page) -> None:
    at = open_page(PAGE, k="2", p="2")
    assert at.error and "half" in at.error[0].value


def test_bad_grid_in_link_falls_back(open_page) -> None:
    at = open_page(PAGE, grid="1 2; nope")
    assert any("could not be read" in w.value for w in at.warning)
    assert figure_texts(at)[1] == [["6", "5"], ["3", "4"]]


def figure_titles(at) -> list[str]:
    return [re.search(r"<div data-grid-title[^>]*>(.*?)</div>", b).group(1) for b in grids(at)]


def test_ceil_mode_partial_windows_are_said_as_torch_divides(open_page) -> None:
    """5×5, window 2, stride 2, ceil_mode: torch keeps partial windows at the bottom/right and
    divides them by the cells they cover (13 / 2 at the top right, not 13 / 4); the cells they
    hang over are past the end, not padding; the titles say window and output apart."""
    import torch
    import torch.nn.functional as F

    grid = "; ".join(" ".join(str(5 * r + c) for c in range(5)) for r in range(5))
    at = open_page(PAGE, k="2", s="2", ceil="true", grid=grid)
    assert not at.error, [e.value for e in at.error]
    t = torch.arange(25.0).reshape(1, 1, 5, 5)
    avg = F.avg_pool2d(t, 2, 2, ceil_mode=True)[0, 0]
    assert float(avg[0, -1]) == 13 / 2
    inp, mx, shown, _ = figure_texts(at)
    assert shown == [[f"{v:.3g}" for v in row] for row in avg.numpy()]
    assert len(inp) == 6 and len(inp[0]) == 6  # 5 cells and the overhang the last window needs
    assert [row[-1] for row in inp] == ["—"] * 6 and inp[-1] == ["—"] * 6
    assert not any("pad" in cell for row in inp for cell in row)  # padding is 0 here
    page = text(at)
    assert "divides by its size" not in page
    assert "the last window divides by 1 × 1 = 1, not 4" in page
    assert "“—”: past the end of the input and its padding" in page
    titles = figure_titles(at)
    assert "Max pool<br>window 2×2 → output 3×3" in titles
    assert "Average pool<br>window 2×2 → output 3×3" in titles
    assert "Max pool, window 2 × 2 → " in page  # the image section says the same


def test_padding_cells_are_pad_and_counted_in_the_average(open_page) -> None:
    at = open_page(PAGE, k="2", s="2", p="1")
    assert not at.error, [e.value for e in at.error]
    inp = figure_texts(at)[0]
    assert inp[0] == ["pad"] * 6 and inp[1][0] == "pad" and inp[1][1] == "1"
    page = text(at)
    assert "divides by the cells a window covers: 2 × 2 = 4, padding cells included" in page
    assert "not 4" not in page and "“—”" not in page


def test_pooling_can_grow_the_map_and_the_page_does_not_say_shrinks(open_page) -> None:
    import torch
    import torch.nn.functional as F

    at = open_page(PAGE, k="2", s="1", p="1")
    assert not at.error, [e.value for e in at.error]
    n = F.max_pool2d(torch.zeros(1, 1, 128, 128), 2, 1, 1).shape[-1]
    assert n == 129  # padding 1, stride 1: one more than the input
    info = " ".join(i.value for i in at.info)
    assert f"128 × 128 → {n} × {n}" in info and "shrinks" not in info
