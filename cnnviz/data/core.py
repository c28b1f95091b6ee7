"""The Dataset every loader returns, stratified splits, augmentation and preview mosaics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

AUGMENTS = ("none", "shift", "shift_flip")


class DataError(ValueError):
    """Data cnnviz cannot use; str() is one sentence that says what is wrong and what to do."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images as float32 (N, C, H, W) in [0, 1] with int64 labels, split three ways.

    `augment` names the augmentation that keeps labels true ("shift_flip" only where a mirror
    image is still the same class); `notes` are sentences about what loading skipped or changed.
    """

    name: str
    classes: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str = ""
    augment: str = "shift"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, not {self.augment!r}")
        shape = None
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.float32 or x.ndim != 4:
                raise ValueError(f"x_{split} must be float32 (N, C, H, W), not {x.dtype} {x.shape}")
            if y.dtype != np.int64 or y.shape != (len(x),):
                raise ValueError(f"y_{split} must be int64 ({len(x)},), not {y.dtype} {y.shape}")
            if shape is not None and x.shape[1:] != shape:
                raise ValueError(f"x_{split} has shape {x.shape[1:]}, the others {shape}")
            shape = x.shape[1:]
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(f"y_{split} has labels outside 0..{len(self.classes) - 1}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def counts(self) -> dict[str, list[int]]:
        """Images per class in each split: {"train": [...], "val": [...], "test": [...]}."""
        k = self.n_classes
        return {
            split: np.bincount(getattr(self, f"y_{split}"), minlength=k).tolist()
            for split in ("train", "val", "test")
        }

    def subset(self, n_train: int, seed: int = 0) -> Dataset:
        """The same data with a small stratified training set (validation and test unchanged).

        For the "overfit me" lesson: every class keeps at least one training image.
        """
        total = len(self.y_train)
        if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)):
            raise DataError(f"The training set size must be a whole number, not {n_train!r}.")
        present = int((np.bincount(self.y_train, minlength=self.n_classes) > 0).sum())
        if n_train < present:
            raise DataError(
                f"A training set of {n_train} image(s) cannot hold one image of each of the "
                f"{present} classes; use at least {present}."
            )
        if n_train >= total:
            return self
        idx = stratified_sample(self.y_train, int(n_train), seed)
        return dataclasses.replace(
            self,
            x_train=self.x_train[idx],
            y_train=self.y_train[idx],
            description=self.description,
            notes=(*self.notes, f"Training on {n_train} of {total} training images."),
        )

    def only_classes(self, names) -> Dataset:
        """The images of the classes `names` only (in that order, relabelled 0..k-1), every
        split: digits 0-4 as a five-class set (transfer learning's base and its new classes)."""
        names = [str(n) for n in names]
        unknown = [n for n in names if n not in self.classes]
        if unknown or not names or len(set(names)) != len(names):
            raise DataError(
                f"Choose distinct classes of {self.name} ({', '.join(self.classes)}), "
                f"not {', '.join(names) or 'none'}."
            )
        old = np.array([self.classes.index(n) for n in names], dtype=np.int64)
        relabel = np.full(self.n_classes, -1, dtype=np.int64)
        relabel[old] = np.arange(len(old))
        parts = {}
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            keep = np.isin(y, old)
            parts[f"x_{split}"], parts[f"y_{split}"] = x[keep], relabel[y[keep]]
        return dataclasses.replace(
            self,
            name=f"{self.name} {names[0]}-{names[-1]}"
            if len(names) > 1
            else f"{self.name} {names[0]}",
            classes=tuple(names),
            **parts,
            notes=(*self.notes, f"Only the classes {', '.join(names)}."),
        )


# ---------------------------------------------------------------------------------------------
# Splits


def _allocate(counts: np.ndarray, n: int) -> np.ndarray:
    """Split `n` over classes in proportion to `counts` (largest remainder), at least one for
    every present class when `n` allows, never more than a class has."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    n = max(0, min(int(n), total))
    if n == 0:
        return np.zeros_like(counts)
    quota = counts * n / total
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n - int(take.sum())]] += 1
    for c in np.flatnonzero((counts > 0) & (take == 0)):  # lift empty classes to one
        donor = int(np.argmax(take))
        if take[donor] <= 1:
            break
        take[donor] -= 1
        take[c] += 1
    return take


def stratified_sample(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of `n` items of `y`, classes in proportion, chosen with a fixed seed."""
    rng = np.random.default_rng(seed)
    classes = int(y.max()) + 1 if len(y) else 0
    take = _allocate(np.bincount(y, minlength=classes), n)
    picked = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in enumerate(take)]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


def stratified_split(
    y: np.ndarray, n_val: int, n_test: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) index arrays: each class shuffled with `seed` and cut in proportion."""
    rng = np.random.default_rng(seed)
    classes = int(y.max()) + 1 if len(y) else 0
    counts = np.bincount(y, minlength=classes)
    k_test = _allocate(counts, n_test)
    k_val = _allocate(counts - k_test, n_val)
    parts: tuple[list, list, list] = ([], [], [])
    for c in range(classes):
        idx = rng.permutation(np.flatnonzero(y == c))
        a, b = k_test[c], k_test[c] + k_val[c]
        parts[2].append(idx[:a])
        parts[1].append(idx[a:b])
        parts[0].append(idx[b:])
    return tuple(np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)  # type: ignore[return-value]


def user_split(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the user's own images: per class 15% validation and 15% test (at least one each),
    the rest for training; fixed seed so the same images give the same split."""
    rng = np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for c in range(int(y.max()) + 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = len(idx)
        k = max(1, round(0.15 * n))
        parts[2].append(idx[:k])
        parts[1].append(idx[k : 2 * k])
        parts[0].append(idx[2 * k :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def make_dataset(
    name: str,
    classes: tuple[str, ...],
    x: np.ndarray,
    y: np.ndarray,
    splits: tuple[np.ndarray, np.ndarray, np.ndarray],
    **fields,
) -> Dataset:
    """A Dataset from one pool of images and (train, val, test) index arrays."""
    tr, va, te = splits
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    return Dataset(name, tuple(classes), x[tr], y[tr], x[va], y[va], x[te], y[te], **fields)


# ---------------------------------------------------------------------------------------------
# Augmentation


def max_shift(size: int) -> int:
    """How far `augment_batch` may move an image of this side: 2 px at 28, 1 px at 16."""
    return max(1, round(size / 14))


def augment_batch(x: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Random small shifts (and, for "shift_flip", left-right mirrors) of a (N, C, H, W) batch.

    Every image moves by up to `max_shift` pixels each way, the uncovered border repeating the
    edge pixels. Deterministic given the generator's state; returns a new tensor.
    """
    if kind not in AUGMENTS:
        raise ValueError(f"kind must be one of {AUGMENTS}, not {kind!r}")
    if x.ndim != 4:
        raise ValueError(f"augment_batch needs a (N, C, H, W) batch, not shape {tuple(x.shape)}")
    if kind == "none" or len(x) == 0:
        return x.clone()
    n, c, h, w = x.shape
    sy, sx = max_shift(h), max_shift(w)
    dev = x.device
    dy = torch.randint(-sy, sy + 1, (n,), generator=generator, device=dev)
    dx = torch.randint(-sx, sx + 1, (n,), generator=generator, device=dev)
    padded = F.pad(x, (sx, sx, sy, sy), mode="replicate")
    # output pixel (i, j) of image k reads padded pixel (i + sy - dy_k, j' + sx - dx_k), where
    # j' = j, or w - 1 - j for a mirrored image: one gather does shift and flip
    rows = torch.arange(h, device=dev)[None, :] + sy - dy[:, None]  # (n, h)
    cols = torch.arange(w, device=dev).expand(n, w)
    if kind == "shift_flip":
        flip = torch.rand(n, generator=generator, device=dev) < 0.5
        cols = torch.where(flip[:, None], cols.flip(-1), cols)
    cols = cols + sx - dx[:, None]  # (n, w)
    index = rows[:, :, None] * (w + 2 * sx) + cols[:, None, :]  # (n, h, w) into a padded plane
    index = index.reshape(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, -1).gather(2, index).reshape(n, c, h, w)


# ---------------------------------------------------------------------------------------------
# Preview


def preview_grid(
    ds: Dataset, label: int, n: int = 8, split: str = "train", columns: int = 8, gap: int = 1
) -> np.ndarray:
    """The first `n` images of class `label` in a split as one (H, W) or (H, W, 3) mosaic in
    [0, 1], `gap` pixels of mid-gray between tiles; empty classes give an empty (0, 0) array."""
    x = getattr(ds, f"x_{split}")
    y = getattr(ds, f"y_{split}")
    pics = x[np.flatnonzero(y == label)[:n]]
    if len(pics) == 0:
        return np.zeros((0, 0), np.float32)
    c, h, w = pics.shape[1:]
    cols = min(columns, len(pics))
    rows = -(-len(pics) // cols)
    grid = np.full((c, rows * (h + gap) - gap, cols * (w + gap) - gap), 0.5, np.float32)
    for i, pic in enumerate(pics):
        r, q = divmod(i, cols)
        grid[:, r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = pic
    return grid[0] if c == 1 else np.moveaxis(grid, 0, -1)


def cut_tiles(canvas, rows: int, cols: int, count: int, tile: int, margin: int) -> np.ndarray:
    """Pictures drawn side by side on one big canvas (drawn SCALE times larger): shrink it with a
    box filter (antialiasing), cut the tiles, drop their margins, scale to [0, 1]."""
    from PIL import Image

    small = canvas.resize((cols * tile, rows * tile), Image.Resampling.BOX)
    tiles = np.asarray(small, dtype=np.float32).reshape(rows, tile, cols, tile)
    tiles = tiles.transpose(0, 2, 1, 3).reshape(rows * cols, tile, tile)[:count]
    return tiles[:, margin:-margin, margin:-margin] / 255
