"""A bounded, server-wide cache of computed results, keyed by their exact content.

A class following the teacher asks the same question thirty times: the same picture through the
same kernel at the same stride. The first student pays for the convolution and the pictures; the
other 29 get them from here. Keys are SHA-256 digests of every input, byte for byte (never a
sample of a large array, as `st.cache_data` does): two pictures that differ in one pixel have
different keys, so one user's maps can never be served to another. Values are shared between
users, so cached arrays are made read-only. Least recently used entries go first once the total
size passes the limit (`CNNVIZ_SHARED_MB`, 64 MB by default).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def _feed(h, part: Any) -> None:
    """Feed one part into the hash, tagged with its type so that 1, 1.0, "1" and b"1" differ."""
    if isinstance(part, np.ndarray):
        a = np.ascontiguousarray(part)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(a.data if a.size else b"")
    elif isinstance(part, np.generic):  # a numpy scalar: its dtype and bytes
        _feed(h, np.asarray(part))
    elif isinstance(part, (bytes, bytearray, memoryview)):
        h.update(b"b%d:" % len(part))
        h.update(part)
    elif isinstance(part, (tuple, list)):
        h.update(b"(%d:" % len(part))
        for p in part:
            _feed(h, p)
        h.update(b")")
    elif isinstance(part, (str, int, float, bool, type(None))):
        text = repr(part).encode()
        h.update(f"{type(part).__name__}{len(text)}:".encode())
        h.update(text)
    elif dataclasses.is_dataclass(part):
        h.update(type(part).__name__.encode())
        _feed(h, [getattr(part, f.name) for f in dataclasses.fields(part)])
    else:
        raise TypeError(f"cannot key a cache on {type(part).__name__}")


def digest(*parts: Any) -> str:
    """SHA-256 of every part, exactly (arrays by dtype, shape and every byte)."""
    h = hashlib.sha256()
    _feed(h, parts)
    return h.hexdigest()


def size_of(value: Any) -> int:
    """Bytes a cached value holds (arrays and bytes counted; small things count 64)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return 64 + sum(size_of(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(size_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 64


def freeze(value: T) -> T:
    """Make the arrays inside a value read-only: it is shared by every user from now on."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for v in value:
            freeze(v)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            freeze(getattr(value, f.name))
    return value


class Memo:
    """An LRU cache bounded by bytes; thread-safe (Streamlit runs each session in its thread)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, compute: Callable[[], T]) -> T:
        """The value under `key` (a `digest`), computing and keeping it on a miss. Two threads
        may both compute a new key at once; both get a correct value, one is kept."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = freeze(compute())
        size = size_of(value)
        if size > self.max_bytes // 4:  # one huge entry would push out everything else
            return value
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, (_, old) = self._items.popitem(last=False)
                self._bytes -= old
        return value

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


SHARED = Memo(int(float(os.environ.get("CNNVIZ_SHARED_MB", "64")) * 2**20))
