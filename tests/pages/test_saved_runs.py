"""Saved runs per student on the Train page (AppTest): each student sees their own runs and the
class runs (published, or saved before owners), never another student's; the teacher link (right
key) sees every run and publishes one; a wrong key is refused in a sentence and leaves the
address. And `?hide=` fixes Train's settings with the page's "Fixed by this lesson" note."""

from __future__ import annotations

import pathlib

import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnnviz import arch
from cnnviz.runs import PUBLISHED_FILE, owner_tag, save_run

torch.set_num_threads(1)

PAGE = str(pathlib.Path(__file__).resolve().parents[2] / "pages" / "train.py")
ALICE, BOB = owner_tag("alice's browser"), owner_tag("bob's browser")
KEY = "s3cret-teacher-key"
SHAPE = (1, 8, 8)


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    monkeypatch.setenv("CNNVIZ_RUNS", str(folder))
    monkeypatch.delenv("CNNVIZ_TEACHER_KEY", raising=False)
    return folder


@pytest.fixture
def saved(runs_dir):
    """Alice's run, Bob's run and an old run without an owner."""
    spec = arch.PRESETS["minimal"]

    def one(name, owner):
        torch.manual_seed(0)
        model = arch.build(spec, SHAPE, 2)
        meta = dict(
            arch=spec, input_shape=list(SHAPE), classes=["a", "b"], dataset="toy", name=name
        )
        return save_run(runs_dir, model, meta, owner=owner)

    return {
        "alice": one("alice-run", ALICE),
        "bob": one("bob-run", BOB),
        "old": one("old-run", None),
    }


def page(owner: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(PAGE)
    if owner:
        at.session_state["_owner"] = owner
    for k, v in {"step": "Model files", **params}.items():
        at.query_params[k] = v
    at.run(timeout=60)
    assert not at.exception, [e.message for e in at.exception]
    return at


def listed(at: AppTest) -> str:
    return "\n".join(at.selectbox(key="run_choice").options)


def test_each_student_sees_their_own_runs_and_the_class_runs(saved):
    alice = listed(page(ALICE))
    assert "alice-run" in alice and "Class · old-run" in alice and "bob-run" not in alice
    bob = listed(page(BOB))
    assert "bob-run" in bob and "Class · old-run" in bob and "alice-run" not in bob
    assert "Your runs: 1 · class runs: 1" in "\n".join(c.value for c in page(BOB).caption)


def test_a_session_without_a_cookie_gets_its_own_tag(saved):
    at = page()
    assert len(at.session_state["_owner"]) == 16
    shown = listed(at)
    assert "old-run" in shown and "alice-run" not in shown and "bob-run" not in shown


def test_the_teacher_sees_every_run_and_publishes_one(saved, monkeypatch):
    monkeypatch.setenv("CNNVIZ_TEACHER_KEY", KEY)
    at = page(owner_tag("the teacher"), teacher=KEY)
    assert "teacher" not in at.query_params  # the key left the address at once
    assert any("You are the teacher" in s.value for s in at.success)
    shown = listed(at)
    assert "alice-run" in shown and "bob-run" in shown and "old-run" in shown
    assert f"student {BOB[:6]}" in shown and "no owner" in shown
    at.selectbox(key="run_choice").set_value(str(saved["bob"])).run(timeout=60)
    assert at.button(key="publish_run").label == "Publish to the class"
    at.button(key="publish_run").click().run(timeout=60)
    assert not at.exception and (saved["bob"] / PUBLISHED_FILE).is_file()
    assert [o for o in listed(at).splitlines() if "bob-run" in o and o.endswith("· published")]
    assert at.button(key="publish_run").label == "Unpublish"  # still the teacher after a rerun
    alice = listed(page(ALICE))
    assert "Class · bob-run" in alice and "alice-run" in alice
    at.button(key="publish_run").click().run(timeout=60)
    assert not (saved["bob"] / PUBLISHED_FILE).exists()
    assert "bob-run" not in listed(page(ALICE))


def test_a_wrong_teacher_key_is_refused_with_a_sentence(saved, monkeypatch):
    monkeypatch.setenv("CNNVIZ_TEACHER_KEY", KEY)
    at = page(ALICE, teacher="guess")
    assert "teacher" not in at.query_params
    assert [e.value for e in at.error] == [
        "This teacher link's key is wrong, so you stay a student: copy the teacher link "
        "`make class` printed again."
    ]
    assert "publish_run" not in {b.key for b in at.button}


def test_without_a_teacher_key_there_is_no_teacher(saved):
    at = page(ALICE, teacher="anything")
    assert any("no teacher key" in w.value for w in at.warning)
    assert "bob-run" not in listed(at) and "publish_run" not in {b.key for b in at.button}


def test_hide_fixes_train_settings_with_the_lesson_note():
    at = page(step="Train", hide="opt,lr,epochs,data", lr="0.003", epochs="2")
    assert not at.exception
    labels = {w.label for w in at.select_slider} | {w.label for w in at.number_input}
    assert "Learning rate" not in labels and "Epochs" not in labels and "Batch size" in labels
    assert "Optimizer" not in {w.label for w in at.get("button_group")}
    notes = [i.value for i in at.info]
    assert any(
        n.startswith("Fixed by this lesson:")
        and "optimizer Adam" in n
        and "learning rate 0.003" in n
        and "epochs 2" in n
        and "data digits" in n
        for n in notes
    ), notes
    assert "lr 0.003" in "\n".join(c.value for c in at.caption)  # still trains with the link's


def test_a_teacher_link_works_on_any_page_and_never_stays_in_the_address(monkeypatch):
    monkeypatch.setenv("CNNVIZ_TEACHER_KEY", KEY)
    at = AppTest.from_file(str(pathlib.Path(PAGE).parent / "pooling.py"))
    at.query_params["teacher"] = KEY
    at.run(timeout=30)
    assert not at.exception and "teacher" not in at.query_params
    assert at.session_state["_teacher"] is True


def test_a_finished_training_is_saved_as_its_students(runs_dir):
    from cnnviz.data import builtin
    from cnnviz.runs import list_runs
    from cnnviz.training import TrainConfig, Trainer
    from cnnviz.ui.train.session import TrainingSession, save_finished_run

    t = Trainer(builtin("digits"), arch.PRESETS["minimal"], TrainConfig(epochs=1, n_train=200))
    t.start()
    t.join(90)
    ts = TrainingSession()
    ts.trainer, ts.owner = t, ALICE
    assert save_finished_run(ts)
    (run,) = list_runs(runs_dir)
    assert run.owner == ALICE and not run.published
