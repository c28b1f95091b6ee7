"""The runs/ folder: runs are written, listed newest first, broken ones skipped; each records its
owner (a tag, never the browser's secret), a teacher publishes one with a marker file, a student
sees their own runs plus the class runs (published and old unowned ones); names say what a run
is and file names are never cut mid-word."""

import json
from datetime import UTC, datetime

import pytest
import torch

# the same tiny LeNet-5 and its description as the checkpoint tests (tests/ is not a package)
from test_checkpoint import SHAPE, SPEC, make_model, meta

from cnnviz import arch, checkpoint
from cnnviz import runs as store
from cnnviz.checkpoint import CheckpointError

torch.set_num_threads(1)


def test_save_run_list_runs_load_run(tmp_path):
    first = store.save_run(tmp_path, make_model(), meta(name="First try!"))
    second = store.save_run(tmp_path, make_model(seed=1), meta(name="First try!"))
    assert first != second and first.parent == second.parent == tmp_path
    assert first.name.endswith("first-try") and (first / "model.safetensors").is_file()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "meta.json").write_text("{")
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"")
    (tmp_path / "no-weights").mkdir()
    (tmp_path / "no-weights" / "meta.json").write_bytes((first / "meta.json").read_bytes())
    (tmp_path / "stray.txt").write_text("hi")
    runs = store.list_runs(tmp_path)
    assert [r.path for r in runs] == [second, first]  # newest first, broken ones skipped
    assert runs[0].dataset == "digits" and runs[0].arch == SPEC and runs[0].name == "First try!"
    model, info = store.load_run(second)
    with torch.no_grad():
        x = torch.rand(2, *SHAPE)
        assert torch.equal(model(x), make_model(seed=1).eval()(x))
    assert store.run_files(second)[0] == (second / "model.safetensors").read_bytes()
    assert not list(tmp_path.glob(".tmp-*"))


def test_runs_dir_follows_the_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_RUNS", str(tmp_path / "elsewhere"))
    assert store.runs_dir() == tmp_path / "elsewhere"
    assert store.list_runs() == []
    path = store.save_run(None, make_model(), meta())
    assert path.parent == tmp_path / "elsewhere"
    assert [r.path for r in store.list_runs()] == [path]
    monkeypatch.delenv("CNNVIZ_RUNS")
    assert str(store.runs_dir()) == "runs"


def test_load_run_refuses_an_oversized_file(tmp_path):
    path = store.save_run(tmp_path, make_model(), meta())
    with open(path / "model.safetensors", "ab") as f:
        f.truncate(checkpoint.MAX_WEIGHTS_BYTES + 1)
    with pytest.raises(CheckpointError, match="at most"):
        store.load_run(path)


# ---- owners and the class list


def test_owner_tag_is_short_hex_and_never_the_secret():
    tag = store.owner_tag("some-browser-secret")
    assert len(tag) == 16 and int(tag, 16) >= 0 and "secret" not in tag
    assert store.owner_tag("some-browser-secret") == tag != store.owner_tag("another")


def _xsrf(token: bytes, mask: bytes, stamp: int = 1700000000) -> str:
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(token))
    return f"2|{mask.hex()}|{masked.hex()}|{stamp}"


def test_owner_tag_reads_through_a_re_masked_xsrf_cookie():
    """Tornado writes the same XSRF token with a new random mask: the same browser, the same tag."""
    token = bytes(range(16))
    a, b = _xsrf(token, b"\x01\x02\x03\x04"), _xsrf(token, b"\xaa\xbb\xcc\xdd", 1700000999)
    assert a != b and store.owner_tag(a) == store.owner_tag(b)
    assert store.owner_tag(a) != store.owner_tag(_xsrf(bytes(16), b"\x01\x02\x03\x04"))
    assert len(store.owner_tag("2|zz|not hex|1")) == 16  # malformed: hashed as it is


def test_a_run_records_its_owner_and_old_runs_have_none(tmp_path):
    me, other = store.owner_tag("me"), store.owner_tag("other")
    mine = store.save_run(tmp_path, make_model(), meta(), owner=me)
    old = store.save_run(tmp_path, make_model(), meta())
    assert json.loads((mine / "meta.json").read_text())["owner"] == me
    assert "owner" not in json.loads((old / "meta.json").read_text())
    by_path = {r.path: r for r in store.list_runs(tmp_path)}
    assert by_path[mine].owner == me and by_path[old].owner is None
    assert not by_path[mine].published
    theirs = store.save_run(tmp_path, make_model(), meta(), owner=other)
    listed = store.list_runs(tmp_path)
    assert [r.path for r in store.student_and_class(listed, me)[0]] == [mine]
    assert [r.path for r in store.student_and_class(listed, me)[1]] == [old]
    assert [r.path for r in store.student_and_class(listed, other)[0]] == [theirs]


def test_publish_marks_a_run_for_the_class_and_unpublish_takes_it_back(tmp_path):
    me, other = store.owner_tag("me"), store.owner_tag("other")
    theirs = store.save_run(tmp_path, make_model(), meta(), owner=other)
    store.publish(theirs)
    store.publish(theirs)  # twice is once
    assert (theirs / store.PUBLISHED_FILE).is_file()
    listed = store.list_runs(tmp_path)
    assert listed[0].published
    assert [r.path for r in store.student_and_class(listed, me)[1]] == [theirs]
    assert store.student_and_class(listed, other) == ([listed[0]], [])  # own run: not twice
    store.publish(theirs, on=False)
    store.publish(theirs, on=False)
    assert store.student_and_class(store.list_runs(tmp_path), me) == ([], [])
    with pytest.raises(CheckpointError):
        store.publish(tmp_path / "nothing-here")


def test_publishing_touches_the_runs_folder(tmp_path):
    """Listings are cached on the folder's time: a publish must change it."""
    path = store.save_run(tmp_path, make_model(), meta())
    before = tmp_path.stat().st_mtime_ns
    import os

    os.utime(tmp_path, ns=(before - 10**9, before - 10**9))
    store.publish(path)
    assert tmp_path.stat().st_mtime_ns > before - 10**9


@pytest.mark.parametrize("bad", ["Alice", 7, "abc", "0123456789ABCDEF"])
def test_an_owner_that_is_not_a_tag_is_refused(bad):
    with pytest.raises(CheckpointError, match="owner"):
        checkpoint.save(make_model(), meta(owner=bad))


# ---- names


NOW = datetime(2026, 12, 6, 14, 50, tzinfo=UTC)


def test_run_title_says_data_preset_accuracy_and_time():
    created = datetime(2026, 12, 6, 14, 32, tzinfo=UTC)
    local = created.astimezone()
    m = meta(metrics={"test_accuracy": 0.9891, "val_acc": 0.97}, created=created.isoformat())
    assert store.run_title(m, NOW) == f"digits · LeNet-5 · 98.9\u00a0% · {local:%H:%M}"
    m = meta("conv4k3-relu-flat-fc", metrics={"val_acc": 0.5}, created="2026-12-01T09:05:00+00:00")
    title = store.run_title(m, NOW)
    assert title.startswith("digits · custom · validation 50\u00a0% · ") and "Dec" in title
    assert store.run_title(meta(name="Lesson 1", metrics={}, created="?"), NOW) == (
        "Lesson 1 · digits · LeNet-5"
    )
    # 9,996 of 10,000 right is not 100 %
    assert store.run_title(meta(metrics={"test_accuracy": 0.9996}), NOW).endswith(" · 99.96\u00a0%")


def test_an_unnamed_run_is_listed_by_what_it_is(tmp_path):
    store.save_run(tmp_path, make_model(), meta(metrics={"test_accuracy": 0.5}))
    (r,) = store.list_runs(tmp_path)
    assert r.name.startswith("digits · LeNet-5 · 50\u00a0% · ")


def test_download_names_are_cut_at_a_word_boundary():
    assert store.download_stem(meta()) == "cnnviz-digits-lenet5"
    long = arch.PRESETS["keras"] + "-conv8k3-relu"
    stem = store.download_stem(meta(long), limit=40)
    assert len(stem) <= 40 and f"cnnviz-digits-{long}".startswith(stem)
    assert (f"cnnviz-digits-{long}")[len(stem)] == "-"  # the next character starts a new word
    assert store.download_stem(
        {"arch": "conv8k3-relu-max2-flat-fc64-fc", "dataset": "digits"}, 24
    ) == ("cnnviz-digits-conv8k3")
