"""The plumbing the ops share (cnnviz.ops.arrays): batch view, padding modes, tap slices."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.ops.arrays import as_batch, pad2d, tap_slices, unbatch, window_slice
from cnnviz.shapes import SettingError


@given(st.integers(0, 4), st.integers(1, 4), st.integers(1, 6))
def test_window_slice_reads_tap_offset_of_every_window(offset, step, count):
    positions = np.arange(offset + (count - 1) * step + 1 + 5)
    assert positions[window_slice(offset, step, count)].tolist() == [
        offset + k * step for k in range(count)
    ]


@given(
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
)
def test_tap_slices_read_what_each_window_reads(kernel, dilation, stride, out):
    """Tap (i, j) of window (r, c) reads padded cell (r*s + i*d, c*s + j*d), taps row-major."""
    h = (out[0] - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    w = (out[1] - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    rows, cols = np.indices((h, w))
    taps = tap_slices(kernel, dilation, stride, out)
    assert [(i, j) for i, j, _, _ in taps] == [
        (i, j) for i in range(kernel[0]) for j in range(kernel[1])
    ]
    for i, j, r, c in taps:
        want_r = np.arange(out[0])[:, None] * stride[0] + i * dilation[0]
        want_c = np.arange(out[1])[None, :] * stride[1] + j * dilation[1]
        assert (rows[r, c] == want_r).all() and (cols[r, c] == want_c).all()


def test_as_batch_adds_and_unbatch_removes_the_batch_axis():
    x = np.arange(12, dtype=np.int64).reshape(1, 3, 4)
    xb, squeeze = as_batch(x)
    assert squeeze and xb.shape == (1, 1, 3, 4) and xb.dtype == np.float32
    assert unbatch(xb, squeeze).shape == (1, 3, 4)
    y, squeeze = as_batch(np.zeros((2, 1, 3, 4), np.float64))
    assert not squeeze and y.dtype == np.float64 and unbatch(y, squeeze).shape == (2, 1, 3, 4)
    with pytest.raises(SettingError, match="3 axes|2 axes"):
        as_batch(np.zeros((3, 4)))


def test_pad2d_modes():
    x = np.array([[1.0, 2.0, 3.0]])
    assert pad2d(x, (0, 0, 1, 1)).tolist() == [[0, 1, 2, 3, 0]]
    assert pad2d(x, (0, 0, 1, 1), value=9).tolist() == [[9, 1, 2, 3, 9]]
    assert pad2d(x, (0, 0, 2, 2), "reflect").tolist() == [[3, 2, 1, 2, 3, 2, 1]]
    assert pad2d(x, (0, 0, 2, 2), "replicate").tolist() == [[1, 1, 1, 2, 3, 3, 3]]
    assert pad2d(x, (0, 0, 2, 2), "circular").tolist() == [[2, 3, 1, 2, 3, 1, 2]]
    with pytest.raises(SettingError, match="reflect"):
        pad2d(x, (0, 0, 3, 0), "reflect")


def test_sum_from_zero_rounds_after_every_addition_in_order():
    from cnnviz.ops.arrays import sum_from_zero

    # float32: 1e8 + 1 + 1 stays 1e8 left to right (each 1 is lost), which a pairwise sum keeps
    assert sum_from_zero([1e8, 1.0, 1.0], np.float32) == np.float32(1e8)
    assert sum_from_zero(np.ones((2, 3), np.float64), np.float64) == 6.0
    assert sum_from_zero([], np.float32) == 0 and sum_from_zero([], np.float32).dtype == np.float32
