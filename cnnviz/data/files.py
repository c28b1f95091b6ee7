"""Loaders for datasets that live in a folder on the server: MNIST / Fashion-MNIST IDX files and
CIFAR-10 python batches. Nothing is downloaded; every file is checked before it is believed.

CIFAR-10's python batches are pickles. They are read with an unpickler that knows exactly four
numpy names (array and dtype reconstruction) and refuses every other class or function, so a
planted file cannot run code; dtypes are limited to plain numbers and sizes are capped.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

from cnnviz.data.core import DataError, Dataset, stratified_sample, stratified_split

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
MAX_IDX_ITEMS = 100_000  # MNIST has 60,000 + 10,000
MAX_IDX_BYTES = 64 * 2**20  # decompressed image bytes per file (MNIST train: 47 MB)
MAX_PICKLE_BYTES = 48 * 2**20  # one CIFAR batch is 31 MB
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


# ---------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)

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


def _split_pool(
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
            notes.append(f"Recognised as {label} from the pictures ({filled:.0%} of pixels inked).")
    arrays, more = _split_pool(x, y, xt, yt, max_train, max_test)
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


# ---------------------------------------------------------------------------------------------
# CIFAR-10 python batches, through a restricted unpickler

_PLAIN_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8", "b1"}
_MAX_ARRAY_BYTES = MAX_PICKLE_BYTES


class ForbiddenPickle(pickle.UnpicklingError):
    """The pickle asks for something beyond plain data (a class, a function, an object array)."""


def _text(v) -> str:
    return v.decode("latin-1") if isinstance(v, bytes) else str(v)


class _NDArrayName:
    """Stands in for numpy.ndarray inside a pickle: usable only as _reconstruct's subtype."""


class _DType:
    """A numeric dtype named in a pickle; its pickled state may only set the byte order."""

    def __init__(self, spec, *flags):
        name = _text(spec)
        if name.lstrip("<>|=") not in _PLAIN_DTYPES:
            raise ForbiddenPickle(f"dtype {name!r} is not allowed")
        self.dtype = np.dtype(name)

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2:
            raise ForbiddenPickle("unexpected dtype state")
        if any(part is not None for part in state[2:5]):
            raise ForbiddenPickle("structured dtypes are not allowed")
        order = _text(state[1])
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


class _Array:
    """A numpy array being rebuilt: numpy itself never sees the pickle's state; we check the
    shape, dtype and byte count and copy the bytes with np.frombuffer."""

    value = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ForbiddenPickle("unexpected array state")
        shape, dtype, fortran, raw = state[-4:]
        if not isinstance(dtype, _DType) or not isinstance(raw, (bytes, bytearray)):
            raise ForbiddenPickle("arrays must hold numbers stored as bytes")
        self.value = _checked_array(raw, dtype, shape, "F" if fortran else "C")


def _checked_array(raw, dtype: _DType, shape, order: str) -> np.ndarray:
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if any(not isinstance(s, int) or s < 0 for s in shape):
        raise ForbiddenPickle("array shape must be whole numbers")
    with memoryview(raw) as view:
        nbytes = view.nbytes
    if nbytes > _MAX_ARRAY_BYTES or int(np.prod(shape)) * dtype.dtype.itemsize != nbytes:
        raise ForbiddenPickle("array size does not match its data")
    return np.frombuffer(raw, dtype.dtype).reshape(shape, order=order).copy()


def _latin1(text, encoding="utf-8", errors="strict"):
    """_codecs.encode as Python 3 protocol-2 pickles use it for bytes: str -> latin-1 bytes."""
    if not isinstance(text, str) or _text(encoding).lower().replace("-", "") != "latin1":
        raise ForbiddenPickle("only latin-1 text may be encoded")
    return text.encode("latin-1")


def _reconstruct(subtype, shape, dtype):
    if subtype is not _NDArrayName:
        raise ForbiddenPickle("only plain numpy arrays are allowed")
    return _Array()


def _frombuffer(buf, dtype, shape, order):
    if not isinstance(dtype, _DType):
        raise ForbiddenPickle("only numeric arrays are allowed")
    holder = _Array()
    holder.value = _checked_array(buf, dtype, shape, _text(order) or "C")
    return holder


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDArrayName,
    ("_codecs", "encode"): _latin1,
    ("numpy", "dtype"): _DType,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
}


class _SafeUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Rebuilds dicts, lists, strings, bytes, numbers and plain numeric numpy arrays only.

    Built on the pure-Python unpickler: the C one grows its memo table to whatever index a
    (damaged or planted) pickle names and zero-fills it, gigabytes for a four-byte change;
    here the memo is a dict and every read is bounded by the data actually present.
    """

    def persistent_load(self, pid):
        raise ForbiddenPickle("persistent references are not allowed")

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data), encoding="bytes")
        self._size = len(data)

    def _load_bytearray8(self):
        # the stock loader allocates (and zero-fills) whatever length the pickle claims first
        (size,) = struct.unpack("<Q", self.read(8))
        if size > self._size:
            raise ForbiddenPickle("a bytearray longer than the whole file")
        data = self.read(size)
        if len(data) != size:
            raise pickle.UnpicklingError("pickle data was truncated")
        self.append(bytearray(data))

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]
    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ForbiddenPickle(f"{module}.{name} is not allowed") from None


def _unwrap(obj):
    if isinstance(obj, _Array):
        if obj.value is None:
            raise ForbiddenPickle("an array without data")
        return obj.value
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unwrap(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_unwrap(v) for v in obj)
    if isinstance(obj, (_DType, type)):
        raise ForbiddenPickle("a bare dtype or class is not data")
    return obj


def safe_unpickle(data: bytes):
    """Unpickle `data` allowing only plain containers and numeric numpy arrays; any other class
    or function (the way a pickle runs code) raises pickle.UnpicklingError. numpy never sees
    the pickle's state: arrays are rebuilt here from checked bytes."""
    return _unwrap(_SafeUnpickler(bytes(data)).load())


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
    arrays, more = _split_pool(x, y, xt, yt, max_train, max_test)
    return Dataset(
        "cifar10",
        classes,
        *arrays,
        description=f"CIFAR-10 from {path}: {len(x) + len(xt):,} colour 32×32 photos, 10 classes",
        augment="shift_flip",
        notes=tuple(notes + more),
    )
