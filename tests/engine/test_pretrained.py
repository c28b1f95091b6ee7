"""The built-in pre-trained nets: trained once per test run (the suite's CNNVIZ_CACHE, see
tests/conftest.py), with the accuracy measured when the recipe was written, and the same weights
again when a changed cache file is thrown away."""

import shutil

import pytest
import torch

from cnnviz import checkpoint, pretrained
from cnnviz.training import evaluate_model

# measured with the recipes (seed 0): "digits" test accuracy 0.98, "digits0-4" 0.98
MEASURED = {"digits": 0.98, "digits0-4": 0.98}
MARGIN = 0.015


@pytest.mark.parametrize("name", ["digits", "digits0-4"])
def test_a_built_in_net_reaches_its_measured_accuracy(name):
    model, meta = pretrained.pretrained(name)
    classes = [str(d) for d in range(10 if name == "digits" else 5)]
    assert meta["classes"] == classes and meta["input_shape"] == [1, 28, 28]
    assert meta["arch"] == pretrained.SPEC and meta["config"]["seed"] == 0 and meta["seed"] == 0
    assert meta["description"] == pretrained.PRETRAINED[name]
    acc = meta["metrics"]["test_accuracy"]
    assert acc >= MEASURED[name] - MARGIN
    # the number in the meta is this model's, on the test images of its classes
    ds = pretrained.digits28()
    ds = ds if name == "digits" else ds.only_classes(classes)
    assert evaluate_model(model, ds).accuracy == pytest.approx(acc, abs=1e-9)
    assert not model.training
    # a fresh model per call: changing one leaves the next untouched
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    again, _ = pretrained.pretrained(name)
    assert not torch.equal(next(again.parameters()), next(model.parameters()))


def _state(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_changed_cache_file_is_retrained_to_the_same_weights(tmp_path, monkeypatch):
    """The run's cache was trained from empty; a copy with a changed weights file is discarded
    and trained again from nothing, in a fresh process: bit-identical weights."""
    first, first_meta = pretrained.pretrained("digits0-4")
    name = f"digits0-4-v{pretrained.RECIPE_VERSION}"
    shutil.copytree(pretrained.cache_dir() / "pretrained" / name, tmp_path / "pretrained" / name)
    weights = tmp_path / "pretrained" / name / checkpoint.WEIGHTS_FILE
    raw = bytearray(weights.read_bytes())
    raw[-5] ^= 0x40  # one bit of one weight
    weights.write_bytes(bytes(raw))
    monkeypatch.setenv("CNNVIZ_CACHE", str(tmp_path))
    monkeypatch.setattr(pretrained, "_memory", {})
    again, meta = pretrained.pretrained("digits0-4")
    want = _state(first)
    assert {k: torch.equal(v, want[k]) for k, v in again.state_dict().items()} == dict.fromkeys(
        want, True
    )
    assert meta["metrics"]["test_accuracy"] == first_meta["metrics"]["test_accuracy"]
    # the cache holds the new training now: read back without training
    assert weights.read_bytes() != bytes(raw)
    monkeypatch.setattr(pretrained, "_memory", {})
    stamp = weights.stat().st_mtime_ns
    third, _ = pretrained.pretrained("digits0-4")
    assert weights.stat().st_mtime_ns == stamp
    assert all(torch.equal(v, want[k]) for k, v in third.state_dict().items())


@pytest.mark.parametrize(
    "damage",
    [
        lambda w, m: (w, m[: len(m) // 2]),  # cut short
        lambda w, m: (w[:100], m),
        lambda w, m: (w, m.replace(b'"digits0-4"', b'"digits"')),  # another recipe's
        lambda w, m: (w, m.replace(b'"epochs": 2', b'"epochs": 3')),
        lambda w, m: (b"", b""),
    ],
)
def test_a_broken_cache_file_is_not_used_and_removed(damage, tmp_path):
    model, meta = pretrained.pretrained("digits0-4")
    w, m = checkpoint.save(model, meta)
    assert pretrained._read(_put(tmp_path, w, m), "digits0-4") == (w, m)  # the good ones load
    folder = _put(tmp_path, *damage(w, m))
    assert pretrained._read(folder, "digits0-4") is None
    assert not any(folder.iterdir())


def _put(folder, w: bytes, m: bytes):
    folder.mkdir(exist_ok=True)
    (folder / checkpoint.WEIGHTS_FILE).write_bytes(w)
    (folder / checkpoint.META_FILE).write_bytes(m)
    return folder


def test_an_unknown_name_is_one_sentence():
    with pytest.raises(ValueError, match='no built-in pre-trained net called "cats"'):
        pretrained.pretrained("cats")


def test_the_cache_lock_is_machine_wide(tmp_path):
    """While one process trains (holds the lock), another open of the same lock file cannot take
    it: the second app process waits, then reads the net the first one saved."""
    import fcntl
    import os

    folder = tmp_path / "pretrained" / "digits-v1"
    with pretrained._locked(folder):
        fd = os.open(folder.parent / "digits-v1.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(folder.parent / "digits-v1.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)
