"""Pooling page (AppTest): the grid's pooled numbers are the engine's, every control works through
the URL, impossible settings are explained with a working fix, bad links fall back."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz

PAGE = "pages/pooling.py"
GRID = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], np.float32)


def figure_texts(at) -> list[list]:
    """The numbers written in each plotly figure's first trace, in page order."""
    import json

    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out.append(spec["data"][0].get("text"))
    return out


def text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [i.value for i in at.info] + [c.value for c in at.code])  # fmt: skip


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
