"""Datasets: the Dataset contract, built-in sets, splits, subsets and augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.data import (
    BUILTINS,
    DataError,
    Dataset,
    augment_batch,
    builtin,
    max_shift,
    preview_grid,
    stratified_split,
)


@pytest.fixture(scope="module", params=list(BUILTINS))
def ds(request) -> Dataset:
    return builtin(request.param)


def test_builtin_contract(ds: Dataset):
    assert ds.name in BUILTINS and ds.description
    c, h, w = ds.input_shape
    assert c in (1, 3) and h == w
    assert ds.n_classes == len(ds.classes) >= 2
    for split in ("train", "val", "test"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        assert x.dtype == np.float32 and x.shape[1:] == (c, h, w)
        assert y.dtype == np.int64 and y.shape == (len(x),)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert np.isfinite(x).all()
    counts = ds.counts()
    assert set(counts) == {"train", "val", "test"}
    for split, per_class in counts.items():
        assert len(per_class) == ds.n_classes
        assert sum(per_class) == len(getattr(ds, f"y_{split}"))
        assert min(per_class) > 0, f"a class is missing from {split}"
    assert ds.augment in ("none", "shift", "shift_flip")


def test_builtin_is_deterministic(ds: Dataset):
    assert builtin(ds.name) is ds  # made once per process and shared
    again = builtin(ds.name, fresh=True)  # made afresh
    assert again is not ds
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(ds, field), getattr(again, field))


def test_builtin_unknown_name():
    with pytest.raises(DataError, match="no built-in dataset called"):
        builtin("imagenet")


def test_digits_are_sklearn_digits():
    from sklearn.datasets import load_digits

    from cnnviz.data.builtin import DIGIT_COPIES

    bunch = load_digits()
    ds = builtin("digits")
    n_scans = len(ds.y_train) // (DIGIT_COPIES + 1)
    assert len(ds.y_train) == n_scans * (DIGIT_COPIES + 1)
    assert n_scans + len(ds.y_val) + len(ds.y_test) == len(bunch.target) == 1797
    # the scans: the same labels as scikit-learn's, and every image an upsampled scan (the 2x2
    # mean of a bilinear 2x upsampling is close to the original 8x8 scan of the same class)
    scans = np.concatenate([ds.x_train[:n_scans], ds.x_val, ds.x_test])[:, 0]
    labels = np.concatenate([ds.y_train[:n_scans], ds.y_val, ds.y_test])
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(bunch.target))
    small = scans.reshape(-1, 8, 2, 8, 2).mean(axis=(2, 4)) * 16
    ref = bunch.images.reshape(len(bunch.images), -1)
    for i in range(0, len(small), 97):
        d = np.abs(ref - small[i].reshape(1, -1)).mean(axis=1)
        assert bunch.target[d.argmin()] == labels[i]
        assert d.min() < 1.5
    # the jittered copies repeat the training labels and differ from their scan
    copies = ds.x_train[n_scans:].reshape(DIGIT_COPIES, n_scans, 1, 16, 16)
    np.testing.assert_array_equal(ds.y_train[n_scans:], np.tile(ds.y_train[:n_scans], DIGIT_COPIES))
    assert (np.abs(copies - ds.x_train[:n_scans]).mean(axis=(2, 3, 4)) > 0.005).mean() > 0.95
    # ... but stay close to it: a jitter, not another digit
    corr = [
        np.corrcoef(copies[0, i].ravel(), ds.x_train[i].ravel())[0, 1]
        for i in range(0, n_scans, 50)
    ]
    assert np.median(corr) > 0.6


def test_splits_are_disjoint_and_stratified():
    y = np.repeat(np.arange(4), [100, 50, 30, 20])
    tr, va, te = stratified_split(y, n_val=20, n_test=40, seed=3)
    assert len(va) == 20 and len(te) == 40 and len(tr) == 140
    assert not set(tr) & set(va) and not set(tr) & set(te) and not set(va) & set(te)
    np.testing.assert_array_equal(np.bincount(y[te], minlength=4), [20, 10, 6, 4])
    np.testing.assert_array_equal(np.bincount(y[va], minlength=4), [10, 5, 3, 2])
    again = stratified_split(y, n_val=20, n_test=40, seed=3)
    for a, b in zip((tr, va, te), again):
        np.testing.assert_array_equal(a, b)


def test_subset_is_stratified_and_keeps_val_test():
    ds = builtin("digits")
    small = ds.subset(50, seed=1)
    assert len(small.y_train) == 50
    np.testing.assert_array_equal(np.bincount(small.y_train, minlength=10), [5] * 10)
    assert any("50 of" in n for n in small.notes)
    assert small.x_val is ds.x_val and small.x_test is ds.x_test
    # the chosen images are real training images with their labels
    for img, label in zip(small.x_train[:5], small.y_train[:5]):
        hits = np.flatnonzero((ds.x_train == img).all(axis=(1, 2, 3)))
        assert label in ds.y_train[hits]
    assert ds.subset(10**6) is ds
    with pytest.raises(DataError, match="at least 10"):
        ds.subset(5)
    with pytest.raises(DataError, match="whole number"):
        ds.subset(2.5)


def test_augment_shift_moves_whole_image_within_bounds():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    out = augment_batch(x, "shift", g)
    assert out.shape == x.shape and out is not x
    s = max_shift(28)
    assert s == 2
    for i in range(len(x)):  # the centre of each output is the input moved by one (dy, dx)
        found = [
            (dy, dx)
            for dy in range(-s, s + 1)
            for dx in range(-s, s + 1)
            if torch.equal(
                out[i, :, s:-s, s:-s], x[i, :, s - dy : 28 - s - dy, s - dx : 28 - s - dx]
            )
        ]
        assert len(found) == 1


def test_augment_deterministic_given_generator():
    x = torch.rand(16, 3, 32, 32)
    a = augment_batch(x, "shift_flip", torch.Generator().manual_seed(5))
    b = augment_batch(x, "shift_flip", torch.Generator().manual_seed(5))
    c = augment_batch(x, "shift_flip", torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(augment_batch(x, "none", torch.Generator()), x)


def test_augment_flip_happens_only_for_shift_flip():
    # a rising ramp stays rising when shifted (edges repeat) and falls only when mirrored
    x = torch.arange(3, dtype=torch.float32).reshape(1, 1, 1, 3).repeat(200, 1, 1, 1)
    flipped = augment_batch(x, "shift_flip", torch.Generator().manual_seed(0))
    n_flipped = int((flipped[:, 0, 0, 0] > flipped[:, 0, 0, 2]).sum())
    assert 70 < n_flipped < 130
    shifted = augment_batch(x, "shift", torch.Generator().manual_seed(0))
    assert (shifted[:, 0, 0, 0] < shifted[:, 0, 0, 2]).all()


def test_augment_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be"):
        augment_batch(torch.zeros(1, 1, 4, 4), "rotate", torch.Generator())


def test_preview_grid(ds: Dataset):
    grid = preview_grid(ds, 0, n=8)
    c, h, w = ds.input_shape
    assert grid.shape[:2] == (h, 8 * w + 7)
    assert grid.ndim == (2 if c == 1 else 3)
    first = ds.x_train[np.flatnonzero(ds.y_train == 0)[0]]
    np.testing.assert_array_equal(grid[:h, :w], first[0] if c == 1 else np.moveaxis(first, 0, -1))


@pytest.mark.parametrize("name", ["digits28", "shapes", "orientations"])
def test_generated_test_images_are_not_training_images(name):
    ds = builtin(name)
    train = {img.tobytes() for img in ds.x_train}
    assert not any(img.tobytes() in train for img in ds.x_test)
    assert not any(img.tobytes() in train for img in ds.x_val)


def test_orientations_lines_run_the_named_way():
    ds = builtin("orientations")
    x = ds.x_train[:, 0].astype(np.float64)
    steps = {  # (d_row, d_col) of one pixel step along each class's lines (rows grow downwards)
        "horizontal": (0, 1),
        "vertical": (1, 0),
        "rising diagonal": (-1, 1),
        "falling diagonal": (1, 1),
    }

    def change(dr: int, dc: int) -> np.ndarray:
        a = x[:, 1:-1, 1:-1]
        b = x[:, 1 + dr : x.shape[1] - 1 + dr, 1 + dc : x.shape[2] - 1 + dc]
        return np.abs(a - b).mean(axis=(1, 2))

    for k, name in enumerate(ds.classes):
        mine = x[ds.y_train == k]
        assert len(mine) > 0
        along = change(*steps[name])[ds.y_train == k]
        others = [change(*s)[ds.y_train == k] for n, s in steps.items() if n != name]
        # along its own lines an image changes least, for nearly every image of the class
        assert (along < np.min(others, axis=0)).mean() > 0.95, name


def test_shapes_are_colour_and_balanced():
    ds = builtin("shapes")
    assert ds.input_shape == (3, 32, 32) and ds.augment == "shift_flip"
    assert ds.classes == ("circle", "square", "triangle", "star", "cross")
    assert len(set(ds.counts()["train"])) == 1
    # the channels really differ (not gray copies)
    assert np.abs(ds.x_train[:, 0] - ds.x_train[:, 1]).mean() > 0.05


def test_digits28_look_like_digits():
    ds = builtin("digits28")
    x = ds.x_train[:, 0]
    assert ds.input_shape == (1, 28, 28) and len(set(ds.counts()["train"])) == 1
    ink = x.mean(axis=(1, 2))
    assert 0.05 < np.median(ink) < 0.3  # strokes on a dark ground, like MNIST
    # the ink sits inside the frame: the outer 2-pixel border is nearly empty
    border = np.concatenate(
        [x[:, :2].ravel(), x[:, -2:].ravel(), x[:, :, :2].ravel(), x[:, :, -2:].ravel()]
    )
    assert border.mean() < 0.05
    # ones are narrow and eights wide, on average
    width = (x > 0.5).any(axis=1).sum(axis=1)
    assert width[ds.y_train == 1].mean() + 3 < width[ds.y_train == 8].mean()


def test_orientations_are_learnable_by_a_tiny_cnn():
    torch.manual_seed(0)
    ds = builtin("orientations")
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 7 * 7, 4),
    )
    opt = torch.optim.Adam(net.parameters(), 0.01)
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    for _ in range(4):  # 128 steps of 64 images
        for i in range(0, len(x), 64):
            loss = torch.nn.functional.cross_entropy(net(x[i : i + 64]), y[i : i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = (net(torch.from_numpy(ds.x_test)).argmax(1).numpy() == ds.y_test).mean()
    assert acc > 0.9


# ---------------------------------------------------------------------------------------------
# Properties


labels_st = st.lists(st.integers(0, 5), min_size=1, max_size=300).map(
    lambda v: np.asarray(v, dtype=np.int64)
)


@given(y=labels_st, a=st.floats(0, 1), b=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_stratified_split_properties(y, a, b, seed):
    n_test = int(a * len(y))
    n_val = int(b * (len(y) - n_test))
    tr, va, te = stratified_split(y, n_val=n_val, n_test=n_test, seed=seed)
    assert len(te) == n_test and len(va) == n_val
    both = np.concatenate([tr, va, te])
    np.testing.assert_array_equal(np.sort(both), np.arange(len(y)))  # a partition
    left = np.bincount(y, minlength=6)
    for part, n in ((te, n_test), (va, n_val)):  # the test cut first, validation from the rest
        got = np.bincount(y[part], minlength=6)
        assert (got <= left).all()
        if n >= (left > 0).sum():  # enough for every class: each class still present gets one
            assert (got[left > 0] >= 1).all()
        left = left - got


@given(y=labels_st, frac=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_stratified_sample_is_proportional(y, frac, seed):
    from cnnviz.data import stratified_sample

    n = int(frac * len(y))
    idx = stratified_sample(y, n, seed)
    assert len(idx) == n and len(set(idx.tolist())) == n
    counts = np.bincount(y, minlength=6)
    got = np.bincount(y[idx], minlength=6)
    quota = counts * n / len(y)
    # largest remainder, then at most one image moved to lift an empty class: within 2 of quota
    assert (np.abs(got - quota) < 2 + (counts > 0).sum()).all()
    assert (got <= counts).all()


@given(
    n=st.integers(1, 6),
    c=st.sampled_from([1, 3]),
    side=st.integers(1, 20),
    kind=st.sampled_from(["shift", "shift_flip"]),
    seed=st.integers(0, 2**31),
)
def test_augment_only_moves_pixels(n, c, side, kind, seed):
    x = torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed))
    out = augment_batch(x, kind, torch.Generator().manual_seed(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    # every output pixel is some pixel of the same input image and channel
    pool = x.reshape(n * c, -1).sort(dim=1).values
    got = out.reshape(n * c, -1)
    at = torch.searchsorted(pool, got).clamp_max(pool.shape[1] - 1)
    assert torch.equal(pool.gather(1, at), got)


@pytest.mark.parametrize("kind", ["shift", "shift_flip"])
def test_augment_matches_a_plain_reference(kind):
    """Same draws from the same generator (dy, dx, then flips), applied with numpy edge padding
    and slicing, one image at a time."""
    x = torch.rand(40, 3, 10, 10)
    out = augment_batch(x, kind, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    s = max_shift(10)
    dy = torch.randint(-s, s + 1, (40,), generator=g).numpy()
    dx = torch.randint(-s, s + 1, (40,), generator=g).numpy()
    flip = (
        (torch.rand(40, generator=g) < 0.5).numpy() if kind == "shift_flip" else np.zeros(40, bool)
    )
    for i in range(40):
        p = np.pad(x[i].numpy(), ((0, 0), (s, s), (s, s)), mode="edge")
        want = p[:, s - dy[i] : s - dy[i] + 10, s - dx[i] : s - dx[i] + 10]
        if flip[i]:
            want = want[:, :, ::-1]
        np.testing.assert_array_equal(out[i].numpy(), want)


def test_elastic_field_matrix_is_torchs_bicubic():
    from cnnviz.data.handwriting import _bicubic_matrix

    f = torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    want = torch.nn.functional.interpolate(f, size=(28, 28), mode="bicubic", align_corners=True)
    m = _bicubic_matrix(4, 28)
    got = torch.einsum("ik,nckl,jl->ncij", m, f, m)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_shapes10_is_a_ten_class_colour_set_at_cifar10s_size():
    ds = builtin("shapes10")
    assert ds.input_shape == (3, 32, 32) and ds.n_classes == 10 and ds.augment == "shift_flip"
    assert ds.classes[:5] == builtin("shapes").classes
    assert ds.classes[5:] == ("diamond", "ring", "crescent", "hexagon", "arrow")
    counts = ds.counts()
    assert set(counts["train"]) == {500} and set(counts["val"]) == {100}
    assert np.abs(ds.x_train[:, 0] - ds.x_train[:, 1]).mean() > 0.05  # colour, not gray
    assert ds.x_test.shape == (1000, 3, 32, 32)
