"""CIFAR-10 from its python batches, read through the guarded unpickler (`safe_pickle.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnviz.data.core import DataError, Dataset
from cnnviz.data.files import check_folder, split_pool
from cnnviz.data.safe_pickle import MAX_PICKLE_BYTES, ForbiddenPickle, safe_unpickle

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def _key(d: dict, name: str):
    for k in (name.encode(), name):
        if k in d:
            return d[k]
    return None


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    name = path.name
    if path.stat().st_size > MAX_PICKLE_BYTES:
        raise DataError(f"{name} is larger than a CIFAR-10 batch can be; it is not one.")
    with open(path, "rb") as f:
        raw = f.read(MAX_PICKLE_BYTES + 1)
    try:
        d = safe_unpickle(raw)
    except ForbiddenPickle as exc:
        raise DataError(
            f"{name} is not a plain CIFAR-10 batch ({exc}); cnnviz will not open it."
        ) from exc
    except Exception as exc:  # truncated or garbled pickles raise many kinds of error
        raise DataError(
            f"{name} is damaged or not a CIFAR-10 python batch ({exc.__class__.__name__})."
        ) from exc
    if not isinstance(d, dict):
        raise DataError(f"{name} does not hold a CIFAR-10 batch (no dictionary inside).")
    data, labels = _key(d, "data"), _key(d, "labels")
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(
            f"{name} has no 'data' array and 'labels' list; it is not a CIFAR-10 batch."
        )
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(
            f"{name} holds a {data.dtype} array of shape {data.shape}; CIFAR-10 batches hold "
            "uint8 rows of 3072 values (32×32 pixels, 3 colours)."
        )
    try:
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"{name} has labels that are not whole numbers.") from exc
    if len(y) != len(data):
        raise DataError(
            f"{name} holds {len(data):,} images but {len(y):,} labels; they must match."
        )
    if len(y) and (y.min() < 0 or y.max() > 9):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        raise DataError(f"{name} has label {bad}; CIFAR-10 labels are 0 to 9.")
    return data.reshape(-1, 3, 32, 32), y


def _class_names(folder: Path) -> tuple[tuple[str, ...], list[str]]:
    meta = folder / "batches.meta"
    if not meta.is_file():
        return CIFAR10_CLASSES, ["No batches.meta: using the standard CIFAR-10 class names."]
    if meta.stat().st_size > 2**20:
        raise DataError("batches.meta is far too large for a CIFAR-10 class list.")
    try:
        d = safe_unpickle(meta.read_bytes())
    except Exception as exc:
        raise DataError("batches.meta is damaged or not a CIFAR-10 class list.") from exc
    names = _key(d, "label_names") if isinstance(d, dict) else None
    if not isinstance(names, list) or len(names) != 10:
        raise DataError("batches.meta must list 10 label_names for CIFAR-10.")
    out = []
    for n in names:
        text = n.decode("utf-8", "replace") if isinstance(n, bytes) else n
        if not isinstance(text, str) or not text.strip() or len(text) > 40:
            raise DataError("batches.meta has a class name that is empty, too long or not text.")
        out.append(text.strip())
    return tuple(out), []


def load_cifar10(
    folder: str | os.PathLike, max_train: int | None = None, max_test: int | None = None
) -> Dataset:
    """CIFAR-10 from its python batches (data_batch_1..5, test_batch, batches.meta) in `folder`
    or its cifar-10-batches-py subfolder. At least data_batch_1 and test_batch are needed; 10%
    of the training images (at most 5,000) become validation. 50,000 float32 images are 614 MB:
    pass `max_train` to keep a stratified part."""
    path = check_folder(folder)
    if not (path / "test_batch").is_file() and (path / "cifar-10-batches-py").is_dir():
        path = path / "cifar-10-batches-py"
    batches = [
        path / f"data_batch_{i}" for i in range(1, 6) if (path / f"data_batch_{i}").is_file()
    ]
    if not batches or not (path / "test_batch").is_file():
        raise DataError(
            "The folder needs CIFAR-10's python batches: data_batch_1 (to data_batch_5) and "
            "test_batch, as unpacked from cifar-10-python.tar.gz."
        )
    classes, notes = _class_names(path)
    parts = [_read_batch(b) for b in batches]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    xt, yt = _read_batch(path / "test_batch")
    if len(batches) < 5:
        notes.append(f"Found {len(batches)} of the 5 training batches.")
    arrays, more = split_pool(x, y, xt, yt, max_train, max_test)
    return Dataset(
        "cifar10",
        classes,
        *arrays,
        description=f"CIFAR-10 from {path}: {len(x) + len(xt):,} colour 32×32 photos, 10 classes",
        augment="shift_flip",
        notes=tuple(notes + more),
    )
