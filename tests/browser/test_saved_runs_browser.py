"""Saved runs per student in a real browser: two browsers (two students) each see only their own
run, found by the tag of their `_streamlit_xsrf` cookie (stable across reloads although the cookie
is written again with a new mask); the teacher link publishes one, which the other student then
sees; the key leaves the address at once."""

from __future__ import annotations

import re

import pytest
import torch
from playwright.sync_api import expect

from cnnviz import arch
from cnnviz.runs import owner_tag, save_run

LONG = 30_000
SHAPE = (1, 8, 8)


def _save(folder, name: str, owner: str):
    spec = arch.PRESETS["minimal"]
    torch.manual_seed(0)
    meta = dict(arch=spec, input_shape=list(SHAPE), classes=["a", "b"], dataset="toy", name=name)
    return save_run(folder, arch.build(spec, SHAPE, 2), meta, owner=owner)


def _cookie(context) -> str:
    found = [c["value"] for c in context.cookies() if c["name"] == "_streamlit_xsrf"]
    assert found, context.cookies()
    return found[0]


def _options(tab) -> list[str]:
    """The saved runs this tab lists (the selectbox opened, read, closed)."""
    tab.get_by_role("combobox", name="Saved runs").click()
    options = tab.get_by_role("option")
    expect(options.first).to_be_visible(timeout=LONG)
    texts = options.all_inner_texts()
    tab.keyboard.press("Escape")
    return texts


@pytest.fixture
def class_of_two(browser, page, server, server_runs):
    """Two students' tabs on the session server (it has a teacher key and its own runs folder),
    each its own browser with its own cookies, and the teacher's (the test process's tab)."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    try:
        yield server, server_runs, [*(c.new_page() for c in contexts), page]
    finally:
        for c in contexts:
            c.close()


def test_each_student_sees_their_own_run_and_the_teacher_publishes_one(
    class_of_two, teacher_key, wait_idle
):
    url, folder, (alice, bob, teacher) = class_of_two
    models = url + "/train?step=Model+files"
    for tab in (alice, bob):
        tab.goto(models)
        wait_idle(tab)
    first = _cookie(alice.context)
    owners = {"alice": owner_tag(first), "bob": owner_tag(_cookie(bob.context))}
    assert owners["alice"] != owners["bob"]
    _save(folder, "alice-run", owners["alice"])
    bob_run = _save(folder, "bob-run", owners["bob"])

    alice.reload()
    wait_idle(alice)
    assert owner_tag(_cookie(alice.context)) == owners["alice"]  # the same browser, the same tag
    for tab, mine, theirs in ((alice, "alice-run", "bob-run"), (bob, "bob-run", "alice-run")):
        tab.goto(models)
        wait_idle(tab)
        shown = _options(tab)
        assert [o for o in shown if mine in o] and not [o for o in shown if theirs in o], shown

    teacher.goto(models + "&teacher=" + teacher_key)
    wait_idle(teacher)
    expect(teacher.get_by_text("You are the teacher")).to_be_visible(timeout=LONG)
    assert "teacher=" not in teacher.url  # never shared by Copy link
    shown = _options(teacher)
    assert any("alice-run" in o for o in shown) and any("bob-run" in o for o in shown), shown
    teacher.get_by_role("combobox", name="Saved runs").click()
    teacher.get_by_role("option").filter(has_text="bob-run").click()
    wait_idle(teacher)
    teacher.locator(".st-key-publish_run button").click()
    expect(teacher.locator(".st-key-publish_run button")).to_contain_text("Unpublish", timeout=LONG)
    assert (bob_run / "published").is_file()

    alice.reload()
    wait_idle(alice)
    shown = _options(alice)
    assert any(re.fullmatch(r"Class · bob-run.*", o) for o in shown), shown
