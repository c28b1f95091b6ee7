"""MNIST IDX and CIFAR-10 python batches: small valid and broken files written in tmp_path."""

from __future__ import annotations

import gzip
import os
import pickle
import re

import numpy as np
import pytest

from cnnviz.data import DataError, load_cifar10, load_mnist
from cnnviz.data.cifar import CIFAR10_CLASSES
from cnnviz.data.files import split_pool
from cnnviz.data.mnist import FASHION_CLASSES
from cnnviz.data.safe_pickle import MAX_PICKLE_BYTES, safe_unpickle

# ---------------------------------------------------------------------------------------------
# IDX helpers


def idx_bytes(a: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, a.ndim]) + np.asarray(a.shape, ">u4").tobytes()
    return header + a.astype(np.uint8).tobytes()


def mnist_arrays(n_train=40, n_test=20, side=28, seed=0, fill=0.2):
    rng = np.random.default_rng(seed)

    def images(n):
        ink = rng.random((n, side, side)) < fill
        return (ink * rng.integers(1, 256, (n, side, side))).astype(np.uint8)

    return (
        images(n_train),
        (np.arange(n_train) % 10).astype(np.uint8),
        images(n_test),
        (np.arange(n_test) % 10).astype(np.uint8),
    )


NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def write_mnist(folder, arrays, gz=False, names=NAMES):
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in zip(names, arrays):
        data = idx_bytes(a)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def rows_as_set(x: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in x}


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_exactly(tmp_path, gz):
    arrays = mnist_arrays()
    folder = write_mnist(tmp_path / "mnist", arrays, gz=gz)
    ds = load_mnist(folder)
    x, y, xt, yt = arrays
    assert ds.name == "mnist" and ds.classes == tuple("0123456789")
    assert ds.input_shape == (1, 28, 28)
    # 10% of the 40 training images became validation, stratified
    assert len(ds.y_val) == 4 and len(ds.y_train) == 36
    assert ds.counts()["test"] == [2] * 10
    np.testing.assert_array_equal(ds.x_test[:, 0], xt / np.float32(255))
    np.testing.assert_array_equal(ds.y_test, yt)
    # train + val is exactly the training file, each image with its own label
    both = np.concatenate([ds.x_train, ds.x_val])[:, 0]
    labels = np.concatenate([ds.y_train, ds.y_val])
    expected = {(img.tobytes(), int(label)) for img, label in zip(x / np.float32(255), y)}
    got = {(img.tobytes(), int(label)) for img, label in zip(both, labels)}
    assert got == expected and len(both) == 40


def test_mnist_dotted_names_and_subsets(tmp_path):
    names = tuple(n.replace("-idx", ".idx") for n in NAMES)
    folder = write_mnist(tmp_path / "m", mnist_arrays(n_train=100, n_test=50), names=names)
    ds = load_mnist(folder, max_train=30, max_test=20)
    assert len(ds.y_train) == 30 and len(ds.y_test) == 20 and len(ds.y_val) == 10
    assert ds.counts()["train"] == [3] * 10
    assert any("30 of the training images" in n for n in ds.notes)


def test_fashion_recognised_from_pictures_and_folder_name(tmp_path):
    filled = mnist_arrays(fill=0.6)
    ds = load_mnist(write_mnist(tmp_path / "garments", filled))
    assert ds.name == "fashion-mnist" and ds.classes == FASHION_CLASSES
    assert any("Fashion-MNIST" in n for n in ds.notes)
    assert any(re.search(r"\(\d+(\.\d+)?\u00a0% of pixels inked\)", n) for n in ds.notes), ds.notes
    sparse = mnist_arrays(fill=0.2)
    assert load_mnist(write_mnist(tmp_path / "digits", sparse)).name == "mnist"
    assert load_mnist(write_mnist(tmp_path / "Fashion-MNIST", sparse)).name == "fashion-mnist"
    assert load_mnist(tmp_path / "garments", kind="mnist").name == "mnist"


def break_file(folder, name, data: bytes):
    (folder / name).write_bytes(data)


@pytest.mark.parametrize(
    "which, data, message",
    [
        (0, b"\x08\x03\x00\x00" + b"\x00" * 100, "not an IDX file"),
        (0, b"\x00\x00\x0d\x03" + b"\x00" * 100, "type code"),
        (0, idx_bytes(np.zeros(40, np.uint8)), "dimension"),
        (1, idx_bytes(np.zeros((40, 28, 28), np.uint8)), "swapped"),
        (0, b"\x00\x00\x08\x03\x00\x00", "header"),
        (0, idx_bytes(np.zeros((40, 28, 28), np.uint8))[:-5], "cut short"),
        (0, idx_bytes(np.zeros((40, 28, 28), np.uint8)) + b"\x00", "more data"),
        (0, idx_bytes(np.zeros((41, 28, 28), np.uint8)), "must match"),
        (1, idx_bytes(np.full(40, 10, np.uint8)), "labels are 0 to 9"),
        (0, bytes([0, 0, 8, 3]) + np.asarray([200_000, 28, 28], ">u4").tobytes(), "more than"),
        (0, bytes([0, 0, 8, 3]) + np.asarray([10, 300, 300], ">u4").tobytes(), "8 to 64"),
        (0, idx_bytes(np.zeros((0, 28, 28), np.uint8)), "must match"),
    ],
)
def test_mnist_broken_files_refused(tmp_path, which, data, message):
    folder = write_mnist(tmp_path / "m", mnist_arrays())
    break_file(folder, NAMES[which], data)
    with pytest.raises(DataError, match=message) as err:
        load_mnist(folder)
    assert "\n" not in str(err.value)


def test_mnist_damaged_gzip(tmp_path):
    folder = write_mnist(tmp_path / "m", mnist_arrays(), gz=True)
    good = (folder / (NAMES[0] + ".gz")).read_bytes()
    (folder / (NAMES[0] + ".gz")).write_bytes(good[:40] + b"\xff" * 200)
    with pytest.raises(DataError, match="damaged|cut short"):
        load_mnist(folder)


def test_mnist_gzip_bomb_is_not_inflated(tmp_path):
    # the header announces 40 images; a gigabyte of zeros follows in a tiny gzip
    folder = write_mnist(tmp_path / "m", mnist_arrays())
    head = idx_bytes(np.zeros((40, 28, 28), np.uint8))
    stream = gzip.compress(head + bytes(50 * 2**20), compresslevel=1)
    (folder / NAMES[0]).unlink()
    (folder / (NAMES[0] + ".gz")).write_bytes(stream)
    with pytest.raises(DataError, match="more data"):
        load_mnist(folder)


def test_mnist_missing_files_and_bad_folders(tmp_path):
    folder = write_mnist(tmp_path / "m", mnist_arrays())
    (folder / NAMES[3]).unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_mnist(folder)
    with pytest.raises(DataError, match="no folder"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(DataError, match="not a folder"):
        load_mnist(folder / NAMES[0])
    with pytest.raises(DataError, match="Type the path"):
        load_mnist("  ")


def test_data_root_limits_folders(tmp_path, monkeypatch):
    inside = write_mnist(tmp_path / "root" / "mnist", mnist_arrays())
    outside = write_mnist(tmp_path / "elsewhere", mnist_arrays())
    monkeypatch.setenv("CNNVIZ_DATA_ROOT", str(tmp_path / "root"))
    assert load_mnist(inside).name == "mnist"
    with pytest.raises(DataError, match="only reads datasets inside"):
        load_mnist(outside)
    with pytest.raises(DataError, match="only reads datasets inside"):
        load_mnist(inside / ".." / ".." / "elsewhere")


# ---------------------------------------------------------------------------------------------
# CIFAR-10


def cifar_batch(n, seed, labels=None, protocol=2, data=None) -> bytes:
    rng = np.random.default_rng(seed)
    d = {
        b"batch_label": b"a test batch",
        b"labels": list(labels if labels is not None else (np.arange(n) % 10).tolist()),
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8) if data is None else data,
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(d, protocol=protocol)


def write_cifar(folder, n_batches=2, n=30, n_test=20, meta=True, protocol=2):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n_batches + 1):
        (folder / f"data_batch_{i}").write_bytes(cifar_batch(n, i, protocol=protocol))
    (folder / "test_batch").write_bytes(cifar_batch(n_test, 99, protocol=protocol))
    if meta:
        names = [c.encode() for c in CIFAR10_CLASSES]
        blob = {b"label_names": names, b"num_cases_per_batch": n, b"num_vis": 3072}
        (folder / "batches.meta").write_bytes(pickle.dumps(blob, protocol=protocol))
    return folder


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_reads_exactly(tmp_path, protocol):
    folder = write_cifar(tmp_path / "c", protocol=protocol)
    ds = load_cifar10(folder)
    assert ds.name == "cifar10" and ds.classes == CIFAR10_CLASSES
    assert ds.input_shape == (3, 32, 32) and ds.augment == "shift_flip"
    assert len(ds.y_train) + len(ds.y_val) == 60 and len(ds.y_val) == 6
    test = pickle.loads(cifar_batch(20, 99))
    np.testing.assert_array_equal(
        ds.x_test, test[b"data"].reshape(-1, 3, 32, 32).astype(np.float32) / 255
    )
    np.testing.assert_array_equal(ds.y_test, test[b"labels"])
    # pixel order: the first 1024 values are red, row by row
    assert ds.x_test[0, 0, 0, 1] == np.float32(test[b"data"][0, 1]) / 255
    assert ds.x_test[0, 1, 0, 0] == np.float32(test[b"data"][0, 1024]) / 255
    pool = [pickle.loads(cifar_batch(30, i)) for i in (1, 2)]
    expected = {
        (row.reshape(3, 32, 32).astype(np.float32).tobytes(), int(label))
        for p in pool
        for row, label in zip(p[b"data"], p[b"labels"])
    }
    got = {
        ((img * 255).round().astype(np.float32).tobytes(), int(label))
        for img, label in zip(
            np.concatenate([ds.x_train, ds.x_val]), np.concatenate([ds.y_train, ds.y_val])
        )
    }
    assert got == expected
    assert any("2 of the 5" in n for n in ds.notes)


def test_cifar_subfolder_and_missing_meta(tmp_path):
    write_cifar(tmp_path / "c" / "cifar-10-batches-py", meta=False)
    ds = load_cifar10(tmp_path / "c", max_train=20)
    assert ds.classes == CIFAR10_CLASSES and len(ds.y_train) == 20
    assert any("standard CIFAR-10 class names" in n for n in ds.notes)


def test_cifar_missing_batches(tmp_path):
    folder = write_cifar(tmp_path / "c")
    (folder / "test_batch").unlink()
    with pytest.raises(DataError, match="test_batch"):
        load_cifar10(folder)


class Payload:
    """A pickle that would create a file when loaded by plain pickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: pickle.dumps({b"data": Payload(str(p)), b"labels": [0]}), "will not open"),
        (lambda p: pickle.dumps(Payload(str(p))), "will not open"),
        (
            lambda p: pickle.dumps({b"data": np.array([[1]], dtype=object), b"labels": [0]}),
            "will not open",
        ),
        (lambda p: cifar_batch(10, 0)[:-200], "damaged"),
        (lambda p: b"", "damaged"),
        (lambda p: b"this is not a pickle", "damaged"),
        (lambda p: pickle.dumps([1, 2, 3]), "no dictionary"),
        (lambda p: pickle.dumps({b"labels": [0]}), "no 'data'"),
        (lambda p: cifar_batch(10, 0, data=np.zeros((10, 3000), np.uint8)), "3072"),
        (lambda p: cifar_batch(10, 0, data=np.zeros((10, 3072), np.float32)), "uint8"),
        (lambda p: cifar_batch(10, 0, labels=[0] * 9), "must match"),
        (lambda p: cifar_batch(10, 0, labels=[0] * 9 + [10]), "labels are 0 to 9"),
        (lambda p: cifar_batch(10, 0, labels=[0] * 9 + [-1]), "labels are 0 to 9"),
        (lambda p: cifar_batch(10, 0, labels=["a"] * 10), "whole numbers"),
    ],
)
def test_cifar_hostile_and_broken_batches_refused(tmp_path, make, message):
    folder = write_cifar(tmp_path / "c")
    planted = tmp_path / "pwned.txt"
    (folder / "data_batch_2").write_bytes(make(planted))
    with pytest.raises(DataError, match=message) as err:
        load_cifar10(folder)
    assert "\n" not in str(err.value)
    assert not planted.exists()


def test_cifar_oversized_file_not_read(tmp_path):
    folder = write_cifar(tmp_path / "c")
    with open(folder / "data_batch_2", "r+b") as f:
        f.truncate(MAX_PICKLE_BYTES + 1)  # sparse: no real disk use
    with pytest.raises(DataError, match="larger than a CIFAR-10 batch"):
        load_cifar10(folder)


def test_cifar_bad_meta(tmp_path):
    folder = write_cifar(tmp_path / "c")
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a", b"b"]}))
    with pytest.raises(DataError, match="10 label_names"):
        load_cifar10(folder)


def test_safe_unpickle_round_trips_plain_data_and_refuses_code():
    data = {
        b"a": np.arange(6, dtype=">i4").reshape(2, 3),
        "b": [1, 2.5, "x", b"y", None, True],
        "c": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    }
    for protocol in (2, 3, 4, 5):
        got = safe_unpickle(pickle.dumps(data, protocol=protocol))
        np.testing.assert_array_equal(got[b"a"], data[b"a"])
        np.testing.assert_array_equal(got["c"], data["c"])
        assert got["b"] == data["b"]
    for evil in (
        pickle.dumps(os.getcwd),
        pickle.dumps(np.zeros(2, dtype=[("a", "u1")])),
        pickle.dumps(np.float32(1)),
    ):
        with pytest.raises(pickle.UnpicklingError):
            safe_unpickle(evil)


def test_mnist_validation_shrinks_with_max_train(tmp_path):
    folder = write_mnist(tmp_path / "m", mnist_arrays(n_train=400, n_test=20))
    full = load_mnist(folder)
    assert len(full.y_val) == 40 and len(full.y_train) == 360
    part = load_mnist(folder, max_train=180)
    assert len(part.y_train) == 180 and len(part.y_val) == 20  # a ninth of 180
    assert part.counts()["val"] == [2] * 10


def test_safe_unpickle_does_not_allocate_what_a_pickle_claims():
    import struct
    import tracemalloc

    memo_bomb = b"\x80\x02}r" + struct.pack("<I", 0x02000000) + b"."  # the C unpickler: 512 MB
    bytearray_bomb = b"\x80\x05\x96" + struct.pack("<Q", 2**33) + b"abc."  # 8 GB bytearray
    tracemalloc.start()
    try:
        assert safe_unpickle(memo_bomb) == {}
        with pytest.raises(pickle.UnpicklingError, match="longer than the whole file"):
            safe_unpickle(bytearray_bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB allocated"


def test_cifar_fuzzed_batches_are_refused_with_a_sentence_or_read(tmp_path):
    """Random byte changes in a valid batch: each load either works or raises DataError."""
    import random

    rng = random.Random(0)
    folder = write_cifar(tmp_path / "c", n_batches=1, n=10, n_test=10)
    good = (folder / "data_batch_1").read_bytes()
    outcomes = set()
    for _ in range(150):
        b = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        (folder / "data_batch_1").write_bytes(bytes(b))
        try:
            load_cifar10(folder)
            outcomes.add("read")
        except DataError as err:
            assert "\n" not in str(err)
            outcomes.add("refused")
    assert outcomes == {"read", "refused"}


def test_split_pool_cuts_validation_from_training_and_caps_both():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 20)
    x = rng.integers(0, 256, (200, 8, 8), dtype=np.uint8)
    yt = np.repeat(np.arange(10), 5)
    xt = rng.integers(0, 256, (50, 8, 8), dtype=np.uint8)
    (xtr, ytr, xva, yva, xte, yte), notes = split_pool(x, y, xt, yt, None, None)
    assert (len(ytr), len(yva), len(yte)) == (180, 20, 50) and notes == []
    assert xtr.shape == (180, 1, 8, 8) and xtr.dtype == np.float32
    assert 0 <= xtr.min() and xtr.max() <= 1 and (xte[:, 0] == xt / np.float32(255)).all()
    assert sorted(np.bincount(yva).tolist()) == [2] * 10  # stratified
    (xtr, ytr, xva, yva, xte, yte), notes = split_pool(x, y, xt, yt, 90, 30)
    assert (len(ytr), len(yva), len(yte)) == (90, 10, 30) and len(notes) == 2
    colour = rng.integers(0, 256, (200, 3, 8, 8), dtype=np.uint8)  # (N, C, H, W) stays so
    (xtr, *_), _ = split_pool(colour, y, colour[:50], yt, None, None)
    assert xtr.shape == (180, 3, 8, 8)
