"""The server-wide cache: keys are exact (a one-pixel change is another key), values are shared
read-only, and the total size stays under its bound (least recently used go first)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz import memo, playground
from cnnviz.kernels import preset


def test_a_one_pixel_change_is_another_key() -> None:
    a = np.random.default_rng(0).random((1024, 1024, 3), dtype=np.float32)
    b = a.copy()
    b[517, 301, 2] = np.nextafter(b[517, 301, 2], 2)  # the smallest possible change
    assert memo.digest(a) != memo.digest(b)
    assert memo.digest(a) == memo.digest(a.copy())


@pytest.mark.parametrize(
    "x, y",
    [
        (1, 1.0),
        (1, "1"),
        ("1", b"1"),
        ((1, 2), [1, 2, None]),
        (np.zeros(4, np.float32), np.zeros(4, np.float64)),
        (np.zeros((2, 3)), np.zeros((3, 2))),
        (("a", "b"), ("ab",)),
    ],
)
def test_different_things_have_different_keys(x, y) -> None:
    assert memo.digest(x) != memo.digest(y)


def test_settings_are_keyed_by_every_field() -> None:
    s = playground.Settings((preset("sobel_x"),), stride=(2, 2))
    assert memo.digest(s) == memo.digest(playground.Settings((preset("sobel_x"),), stride=(2, 2)))
    for other in (
        playground.Settings((preset("sobel_y"),), stride=(2, 2)),
        playground.Settings((preset("sobel_x"),), stride=(2, 1)),
        playground.Settings((preset("sobel_x"),), stride=(2, 2), bias=1e-7),
        playground.Settings((preset("sobel_x"),), stride=(2, 2), padding="same"),
    ):
        assert memo.digest(s) != memo.digest(other)


def test_values_are_computed_once_and_shared_read_only() -> None:
    m = memo.Memo(10 * 2**20)
    calls = []

    def compute():
        calls.append(1)
        return np.ones((8, 8), np.float32)

    first = m.get("k", compute)
    again = m.get("k", compute)
    assert again is first and len(calls) == 1 and (m.hits, m.misses) == (1, 1)
    with pytest.raises(ValueError):
        first[0, 0] = 5  # one user cannot change what another is shown


def test_the_size_stays_bounded_least_recently_used_first() -> None:
    m = memo.Memo(1000)
    for k in "abcde":
        m.get(k, lambda: bytes(200))
    m.get("a", lambda: b"")  # a is used again: b is now the oldest
    m.get("f", lambda: bytes(200))
    assert m.nbytes <= 1000
    keys = list(m._items)
    assert "a" in keys and "f" in keys and "b" not in keys
    big = m.get("huge", lambda: bytes(600))  # more than a quarter: returned, never kept
    assert len(big) == 600 and "huge" not in m._items
