"""Every page runs through cnnviz.ui.common.run_safely: the one guard that turns a crash into a
polite box and leaves Streamlit's legacy pages/ mode when a first visitor arrives by a deep link
(tests/browser/test_pages.py checks that in Chromium on two pages, each on a new server)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cnnviz.ui.nav import PAGES, PageInfo

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("info", PAGES, ids=lambda p: p.path)
def test_the_page_ends_in_one_run_safely_call(info: PageInfo) -> None:
    tree = ast.parse((ROOT / info.path).read_text(encoding="utf-8"))
    calls = [
        node.value.func.id
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
    ]
    assert calls == ["run_safely"], f"{info.path}: top-level calls {calls}"
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and last.value.func.id == "run_safely"
