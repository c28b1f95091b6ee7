"""Built-in datasets: nothing downloaded, the same images on every machine and every run."""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.data import colorshapes, handwriting
from cnnviz.data.core import DataError, Dataset, stratified_split

BUILTINS: dict[str, str] = {
    "digits": "1,797 real handwritten digits from scikit-learn (8×8 scans, shown at 16×16; training scans also jittered ×4), 10 classes",
    "digits28": "13,000 generated 28×28 handwritten-style digits (slant, pen width, elastic bends, noise), 10 classes",
    "shapes": "6,500 colour 32×32 pictures: circle, square, triangle, star, cross on textured backgrounds",
    "shapes10": "7,000 colour 32×32 pictures of 10 shapes (the five of shapes, diamond, ring, crescent, hexagon, arrow) on textured backgrounds: CIFAR-10's size and class count",
    "orientations": "3,200 gray 16×16 edges and stripes in four directions: first-layer filters become edge detectors",
}


def builtin(name: str, *, fresh: bool = False) -> Dataset:
    """One of `BUILTINS` by name; deterministic, generated or read from installed packages.

    Made once per process and shared by every caller (the generated sets take about a second
    each): never change its arrays (torch.from_numpy warns about read-only ones, so they are not
    marked). `fresh=True` makes it again, for a check that making it twice gives the same set.
    """
    if name not in _MAKERS:
        known = ", ".join(f'"{n}"' for n in BUILTINS)
        raise DataError(f'There is no built-in dataset called "{name}"; choose one of {known}.')
    return _MAKERS[name]() if fresh else _shared(name)


@functools.cache
def _shared(name: str) -> Dataset:
    return _MAKERS[name]()


# ---------------------------------------------------------------------------------------------
# digits: scikit-learn's bundled scans


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) float32 ink counts 0..16 and int64 labels from scikit-learn's bundled CSV.

    Read straight from the package folder: importing sklearn.datasets costs about a second.
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits  # a layout change: take the slow, sure road

        bunch = load_digits()
        return bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    with gzip.open(path) as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return np.ascontiguousarray(raw[:, :64]), raw[:, 64].astype(np.int64)


DIGIT_COPIES = 4  # jittered copies of each training scan


def jitter(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each (N, 1, H, W) image slightly turned (up to 12 degrees), slanted, scaled (0.9-1.1)
    and moved (up to a sixteenth of its side): how the same hand varies from one digit to the next."""
    n = len(x)

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    turn, scale, slant = u(-0.21, 0.21), u(0.9, 1.1), u(-0.2, 0.2)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = torch.cos(turn) / scale
    theta[:, 0, 1] = -torch.sin(turn) / scale + slant
    theta[:, 1, 0] = torch.sin(turn) / scale
    theta[:, 1, 1] = torch.cos(turn) / scale
    theta[:, 0, 2] = u(-0.125, 0.125)
    theta[:, 1, 2] = u(-0.125, 0.125)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros").clamp(0, 1)


def digits() -> Dataset:
    """scikit-learn's 1,797 digits (UCI optdigits: 8x8, 0..16 ink counts), scaled to [0, 1]
    and upsampled bilinearly to 16x16 so a few conv and pool layers fit.

    Validation (180) and test (360) are untouched scans; each of the 1,257 training scans also
    comes in DIGIT_COPIES jittered copies (6,285 training pictures): with scans alone a small
    CNN stalls near 94% on the test scans, with the copies it passes 97% within seconds.
    """
    pixels, y = _sklearn_digits()
    x = torch.from_numpy(pixels.reshape(-1, 1, 8, 8) / np.float32(16))
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1)
    tr, va, te = stratified_split(y, n_val=180, n_test=360, seed=0)
    gen = torch.Generator().manual_seed(8)
    x_train = torch.cat([x[tr]] + [jitter(x[tr], gen) for _ in range(DIGIT_COPIES)])
    y_train = np.tile(y[tr], DIGIT_COPIES + 1)
    return Dataset(
        "digits",
        tuple(str(d) for d in range(10)),
        x_train.numpy(),
        y_train,
        x[va].numpy(),
        y[va],
        x[te].numpy(),
        y[te],
        description=BUILTINS["digits"],
        augment="shift",
    )


# ---------------------------------------------------------------------------------------------
# orientations: edges and stripes

ORIENTATIONS = ("horizontal", "vertical", "rising diagonal", "falling diagonal")
_ANGLES = (0.0, 90.0, 45.0, 135.0)  # direction of the lines, degrees anticlockwise from x


def _orientation_images(rng: np.random.Generator, n: int, size: int = 16):
    """`n` images: half step edges, half stripes, lines at one of four angles (+-8 degrees),
    random position, width, contrast and a little noise."""
    y = rng.permutation(np.arange(n) % 4)
    theta = np.deg2rad(np.asarray(_ANGLES)[y] + rng.uniform(-8, 8, n))
    # the coordinate across the lines: the normal of a line at angle t is (-sin t, cos t)
    c = (np.arange(size) - (size - 1) / 2).astype(np.float64)
    yy, xx = np.meshgrid(-c, c, indexing="ij")  # image rows grow downwards, y upwards
    across = -np.sin(theta)[:, None, None] * xx + np.cos(theta)[:, None, None] * yy
    stripes = rng.random(n) < 0.5
    period = rng.uniform(4.0, 7.0, n)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * across / period + phase)
    offset = rng.uniform(-size / 5, size / 5, n)[:, None, None]
    soft = rng.uniform(0.3, 0.8, n)[:, None, None]
    sign = rng.choice([-1.0, 1.0], n)[:, None, None]
    edge = 1 / (1 + np.exp(-sign * (across - offset) / soft))
    pattern = np.where(stripes[:, None, None], wave, edge)
    lo = rng.uniform(0.0, 0.35, n)[:, None, None]
    hi = rng.uniform(0.65, 1.0, n)[:, None, None]
    img = lo + (hi - lo) * pattern + rng.normal(0, 0.04, (n, size, size))
    return np.clip(img, 0, 1).astype(np.float32)[:, None], y.astype(np.int64)


def orientations() -> Dataset:
    """Four line directions, 16x16 gray: 2,000 training, 400 validation and 800 test images,
    each split drawn from its own random stream."""
    splits = {}
    for split, n, seed in (("train", 2000, 11), ("val", 400, 12), ("test", 800, 13)):
        splits[split] = _orientation_images(np.random.default_rng(seed), n)
    return Dataset(
        "orientations",
        ORIENTATIONS,
        *splits["train"],
        *splits["val"],
        *splits["test"],
        description=BUILTINS["orientations"],
        augment="shift",
    )


# ---------------------------------------------------------------------------------------------
# generated sets: every split from its own random stream (the test set is never a reshuffle
# of training images)


def _generated(name, generate, classes, sizes, augment) -> Dataset:
    parts = [generate(n, seed) for n, seed in zip(sizes, (1, 2, 3))]
    return Dataset(
        name,
        tuple(classes),
        *parts[0],
        *parts[1],
        *parts[2],
        description=BUILTINS[name],
        augment=augment,
    )


def digits28() -> Dataset:
    """Generated 28x28 digits: 10,000 training, 1,000 validation, 2,000 test."""
    return _generated(
        "digits28", handwriting.generate, map(str, range(10)), (10000, 1000, 2000), "shift"
    )


def shapes() -> Dataset:
    """Colour shapes, 32x32: 5,000 training, 500 validation, 1,000 test; mirror images allowed."""
    return _generated(
        "shapes", colorshapes.generate, colorshapes.CLASSES, (5000, 500, 1000), "shift_flip"
    )


def shapes10() -> Dataset:
    """Ten colour shapes, 32x32 like CIFAR-10: 5,000 training, 1,000 validation, 1,000 test;
    mirror images allowed (a mirrored crescent or arrow is still one)."""
    return _generated(
        "shapes10",
        lambda n, seed: colorshapes.generate(n, seed + 10, n_classes=10),
        colorshapes.CLASSES10,
        (5000, 1000, 1000),
        "shift_flip",
    )


_MAKERS = {
    "digits": digits,
    "digits28": digits28,
    "shapes": shapes,
    "shapes10": shapes10,
    "orientations": orientations,
}
