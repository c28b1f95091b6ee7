"""Datasets that live in a folder on the server (MNIST IDX files in `mnist.py`, CIFAR-10 python
batches in `cifar.py`): the folder check every loader starts with, and the split they share.
Nothing is downloaded; every file is checked before it is believed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnnviz.data.core import DataError, stratified_sample, stratified_split

DATA_ROOT_ENV = "CNNVIZ_DATA_ROOT"


def check_folder(folder: str | os.PathLike) -> Path:
    """The folder as an absolute path, if it exists and is allowed; else DataError.

    When the environment variable CNNVIZ_DATA_ROOT is set, only folders inside it may be read
    (a class server should set it: the folder box then cannot browse the whole disk).
    """
    text = str(folder).strip()
    if not text:
        raise DataError("Type the path of a folder on the server that holds the dataset files.")
    path = Path(text).expanduser()
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise DataError(f"There is no folder at {text} on the server; check the path.") from None
    if not path.is_dir():
        raise DataError(f"{text} is a file, not a folder; give the folder that holds it.")
    root = os.environ.get(DATA_ROOT_ENV)
    if root:
        base = Path(root).expanduser().resolve()
        if path != base and base not in path.parents:
            raise DataError(
                f"This server only reads datasets inside {base}; choose a folder there."
            )
    return path


def split_pool(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    max_train: int | None,
    max_test: int | None,
) -> tuple[tuple[np.ndarray, ...], list[str]]:
    """Validation cut from the training files (10%, at most 5,000; with `max_train`, about a
    ninth of that), then optional caps; uint8 pixels become float32 only for what is kept."""
    notes = []
    n_val = min(5000, max(1, round(0.1 * len(y))))
    if max_train is not None:  # validation stays about a tenth of what is kept for training
        n_val = min(n_val, max(int(y.max()) + 1, -(-max_train // 9)))
    tr, va, _ = stratified_split(y, n_val=n_val, n_test=0, seed=0)
    if max_train is not None and max_train < len(tr):
        tr = tr[stratified_sample(y[tr], max_train, seed=0)]
        notes.append(f"Using {len(tr):,} of the training images to keep memory and time low.")
    te = np.arange(len(y_test))
    if max_test is not None and max_test < len(te):
        te = stratified_sample(y_test, max_test, seed=0)
        notes.append(f"Using {len(te):,} of the {len(y_test):,} test images.")

    def floats(a: np.ndarray) -> np.ndarray:
        a = a if a.ndim == 4 else a[:, None]
        return (a.astype(np.float32) / np.float32(255)).astype(np.float32)

    arrays = (floats(x[tr]), y[tr], floats(x[va]), y[va], floats(x_test[te]), y_test[te])
    return arrays, notes
