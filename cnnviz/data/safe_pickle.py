"""A guarded unpickler for CIFAR-10's python batches.

It knows exactly four numpy names (array and dtype reconstruction) and refuses every other class
or function, so a planted file cannot run code; dtypes are limited to plain numbers and sizes
are capped.
"""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np

MAX_PICKLE_BYTES = 48 * 2**20  # a whole pickle and any array in it; one CIFAR batch is 31 MB
_PLAIN_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8", "b1"}


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
    if nbytes > MAX_PICKLE_BYTES or int(np.prod(shape)) * dtype.dtype.itemsize != nbytes:
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
