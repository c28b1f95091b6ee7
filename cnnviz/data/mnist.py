"""MNIST and Fashion-MNIST from their IDX files (raw or gzip), every header and size checked."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from cnnviz.data.core import DataError, Dataset
from cnnviz.data.files import check_folder, split_pool
from cnnviz.numbers import percent_text

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
MAX_IDX_ITEMS = 100_000  # MNIST has 60,000 + 10,000
MAX_IDX_BYTES = 64 * 2**20  # decompressed image bytes per file (MNIST train: 47 MB)

_IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _find(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for candidate in (name, name + ".gz"):
            if (folder / candidate).is_file():
                return folder / candidate
    return None


def _open(path: Path):
    """A binary stream of the file, decompressed when it is gzip (by its first bytes)."""
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """The uint8 array of an IDX file (raw or gzip) of `ndim` dimensions; DataError when the
    header, the sizes or the length do not agree. Reads at most what the header announces."""
    path = Path(path)
    name = path.name
    try:
        with _open(path) as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\x00\x00":
                raise DataError(f"{name} is not an IDX file (its first bytes are wrong).")
            if magic[2] != 0x08:
                raise DataError(f"{name} does not hold unsigned bytes (type code {magic[2]:#04x}).")
            if magic[3] != ndim:
                what = "images" if ndim == 3 else "labels"
                raise DataError(
                    f"{name} has {magic[3]} dimension(s) where {what} need {ndim}; "
                    "are the image and label files swapped?"
                )
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise DataError(f"{name} is cut short inside its header.")
            shape = tuple(int(v) for v in np.frombuffer(raw, ">u4"))
            if shape[0] > MAX_IDX_ITEMS:
                raise DataError(
                    f"{name} claims {shape[0]:,} items, more than the {MAX_IDX_ITEMS:,} cnnviz reads."
                )
            if ndim == 3 and not all(8 <= s <= 64 for s in shape[1:]):
                raise DataError(
                    f"{name} claims {shape[1]}×{shape[2]} images; cnnviz reads 8 to 64 pixels a side."
                )
            size = int(np.prod(shape))
            if size > MAX_IDX_BYTES:
                raise DataError(f"{name} is too large ({size / 2**20:.0f} MB of pixels).")
            data = f.read(size)
            if len(data) < size:
                raise DataError(
                    f"{name} is cut short: its header announces {shape[0]:,} items but the file "
                    "ends early; copy it again."
                )
            if f.read(1):
                raise DataError(
                    f"{name} has more data than its header announces ({shape[0]:,} items); "
                    "it is damaged or not a standard IDX file."
                )
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{name} could not be read: it looks damaged ({exc.__class__.__name__})."
        ) from exc
    return np.frombuffer(data, np.uint8).reshape(shape)


def _idx_pair(folder: Path, which: str) -> tuple[np.ndarray, np.ndarray]:
    files = {}
    for part in ("images", "labels"):
        key = f"{which}_{part}"
        found = _find(folder, _IDX_NAMES[key])
        if found is None:
            raise DataError(
                f"The folder has no {_IDX_NAMES[key][0]} (or .gz); MNIST needs the four files "
                "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                "t10k-labels-idx1-ubyte."
            )
        files[part] = found
    x = read_idx(files["images"], 3)
    y = read_idx(files["labels"], 1)
    if len(x) != len(y):
        raise DataError(
            f"{files['images'].name} holds {len(x):,} images but {files['labels'].name} "
            f"{len(y):,} labels; they must match."
        )
    if len(y) and y.max() > 9:
        raise DataError(
            f"{files['labels'].name} has label {int(y.max())}; MNIST labels are 0 to 9."
        )
    if len(y) == 0:
        raise DataError(f"{files['images'].name} holds no images.")
    return x, y.astype(np.int64)


def load_mnist(
    folder: str | os.PathLike,
    kind: str | None = None,
    max_train: int | None = None,
    max_test: int | None = None,
) -> Dataset:
    """MNIST or Fashion-MNIST from the four standard IDX files (raw or .gz) in `folder`.

    `kind` "mnist" or "fashion"; None decides from the folder name, else from the pictures
    (garments fill about half the pixels, digits about a fifth). 10% of the training files
    (at most 5,000) become the validation split; `max_train` / `max_test` keep a stratified
    part (60,000 float32 images are 188 MB).
    """
    path = check_folder(folder)
    if kind not in (None, "mnist", "fashion"):
        raise ValueError(f"kind must be 'mnist', 'fashion' or None, not {kind!r}")
    x, y = _idx_pair(path, "train")
    xt, yt = _idx_pair(path, "test")
    if x.shape[1:] != xt.shape[1:]:
        raise DataError(
            f"Training images are {x.shape[1]}×{x.shape[2]} but test images {xt.shape[1]}×{xt.shape[2]}."
        )
    notes = []
    if kind is None:
        if "fashion" in path.name.lower():
            kind = "fashion"
        else:
            filled = float((x[:2000] > 0).mean())
            kind = "fashion" if filled > 0.35 else "mnist"
            label = "Fashion-MNIST" if kind == "fashion" else "MNIST digits"
            notes.append(
                f"Recognised as {label} from the pictures ({percent_text(filled, 2)} of pixels inked)."
            )
    arrays, more = split_pool(x, y, xt, yt, max_train, max_test)
    fashion = kind == "fashion"
    title = "Fashion-MNIST" if fashion else "MNIST"
    side = f"{x.shape[1]}×{x.shape[2]}"
    return Dataset(
        "fashion-mnist" if fashion else "mnist",
        FASHION_CLASSES if fashion else MNIST_CLASSES,
        *arrays,
        description=f"{title} from {path}: {len(x) + len(xt):,} gray {side} images, 10 classes",
        augment="shift",
        notes=tuple(notes + more),
    )
