"""Kernel presets, random kernels, and kernels typed by a user.

Presets are cross-correlation kernels, as PyTorch's conv2d applies them (no flip): Sobel x
responds positively where brightness rises from left to right.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

MAX_TEXT = 10_000  # characters of typed kernel read at most


class KernelError(ValueError):
    """A typed kernel that cannot be used; the message says what to fix."""


@dataclass(frozen=True, eq=False)
class Preset:
    """A named kernel with a one-sentence description; `array` is read-only (use `preset()`)."""

    name: str
    description: str
    array: np.ndarray


def _binomial(n: int) -> np.ndarray:
    """n×n binomial blur (Pascal's row, outer product), sum 1: a Gaussian with sigma² = (n-1)/4."""
    row = np.array([math.comb(n - 1, k) for k in range(n)], dtype=np.float64)
    return np.outer(row, row) / row.sum() ** 2


def _unsharp() -> np.ndarray:
    """The classic 5×5 unsharp mask, -1/256 × [[1 4 6 4 1], ..., [6 24 -476 24 6], ...]."""
    g = _binomial(5) * 256
    k = -g
    k[2, 2] = 512 - g[2, 2]  # 2 * identity - blur, scaled by 256
    return k / 256


def _motion(n: int, diagonal: bool) -> np.ndarray:
    """Average along the middle row (horizontal) or the main diagonal of an n×n square."""
    k = np.eye(n) if diagonal else np.zeros((n, n))
    if not diagonal:
        k[n // 2] = 1
    return k / n


_P = {
    "identity": (
        "Leaves the image unchanged: 1 in the centre, 0 elsewhere.",
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    ),
    "box_blur_3": ("Average of the 3×3 neighbourhood: every weight 1/9.", np.full((3, 3), 1 / 9)),
    "box_blur_5": ("Average of the 5×5 neighbourhood: every weight 1/25.", np.full((5, 5), 1 / 25)),
    "gaussian_3": (
        "Gaussian blur (binomial 1 2 1, sigma ≈ 0.7): the centre counts most.",
        _binomial(3),
    ),
    "gaussian_5": ("Gaussian blur (binomial 1 4 6 4 1, sigma = 1).", _binomial(5)),
    "gaussian_7": ("Gaussian blur (binomial 1 6 15 20 15 6 1, sigma ≈ 1.2).", _binomial(7)),
    "sharpen": (
        "Centre 5, the four neighbours −1: edges get crisper.",
        [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    ),
    "unsharp_mask": ("Unsharp mask 5×5: twice the pixel minus a Gaussian blur of it.", _unsharp()),
    "sobel_x": (
        "Sobel x: responds to brightness rising left to right (vertical edges).",
        [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    ),
    "sobel_y": (
        "Sobel y: responds to brightness rising top to bottom (horizontal edges).",
        [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    ),
    "scharr_x": (
        "Scharr x: like Sobel x, more accurate for diagonal edges.",
        [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    ),
    "scharr_y": (
        "Scharr y: like Sobel y, more accurate for diagonal edges.",
        [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
    ),
    "prewitt_x": (
        "Prewitt x: vertical edges, without Sobel's extra centre weight.",
        [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    ),
    "prewitt_y": (
        "Prewitt y: horizontal edges, without Sobel's extra centre weight.",
        [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    ),
    "laplacian_4": (
        "Laplacian, 4 neighbours: responds to edges in every direction.",
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    ),
    "laplacian_8": (
        "Laplacian, 8 neighbours: edges in every direction, diagonals included.",
        [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    ),
    "emboss": (
        "Emboss: light from the top left, a raised-relief look.",
        [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    ),
    "outline": (
        "Outline: 8 in the centre, −1 around it; flat areas go black.",
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    ),
    "motion_blur": (
        "Motion blur: the average along a 7-pixel horizontal line.",
        _motion(7, diagonal=False),
    ),
    "motion_blur_diagonal": ("Motion blur along a 7-pixel diagonal.", _motion(7, diagonal=True)),
}


def _frozen(a: object) -> np.ndarray:
    """A float32 copy nobody can write to: presets are shared by every user of the server."""
    out = np.array(a, dtype=np.float32)
    out.flags.writeable = False
    return out


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {name: Preset(name, text, _frozen(a)) for name, (text, a) in _P.items()}
)


def preset(name: str) -> np.ndarray:
    """A fresh float32 copy of a preset kernel."""
    if name not in PRESETS:
        raise KernelError(f"There is no preset called {name!r}. Pick one of: {', '.join(PRESETS)}.")
    return PRESETS[name].array.copy()


def random_kernel(kh: int, kw: int, seed: int = 0) -> np.ndarray:
    """Uniform weights in ±1/sqrt(kh·kw) (PyTorch's default conv init); same seed, same kernel."""
    if not (isinstance(kh, int) and isinstance(kw, int) and kh >= 1 and kw >= 1):
        raise KernelError(f"A kernel needs at least 1 row and 1 column, not {kh!r}×{kw!r}.")
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (kh, kw)) / math.sqrt(kh * kw)).astype(np.float32)


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(token: str, row: int) -> float:
    """One typed number (2, -0.5, 1e-3, 1/9) as a finite float; never evaluated as code."""
    text = token.replace("−", "-")
    parts = text.split("/")
    if text.lstrip("+-").lower() in ("nan", "inf", "infinity"):
        raise KernelError(
            f"{token!r} in row {row} is not a number a kernel can use: NaN and infinity would "
            "spread through the whole picture. Type an ordinary number."
        )
    if len(parts) > 2 or not all(_NUMBER.match(p) for p in parts):
        raise KernelError(f"{token!r} in row {row} is not a number (write e.g. 2, -0.5 or 1/9).")
    value = float(parts[0])
    if len(parts) == 2:
        den = float(parts[1])
        if den == 0:
            raise KernelError(f"{token!r} in row {row} divides by zero.")
        value /= den
    if not math.isfinite(value):
        raise KernelError(f"{token!r} in row {row} is too large: use numbers below 1e38.")
    return value


def parse_kernel(text: str, *, max_size: int = 11) -> np.ndarray:
    """A float32 kernel from text such as "1 0 -1; 2 0 -2; 1 0 -1" or [[1,0,-1],[2,0,-2]].

    Rows are separated by ";" or new lines (or by "],[" in bracket form); numbers by spaces or
    commas; fractions such as 1/9 are allowed. Never evaluated as code.
    """
    if len(text) > MAX_TEXT:
        raise KernelError(f"That is {len(text)} characters; a kernel fits in {MAX_TEXT}.")
    body = text.strip()
    if body.count("[") != body.count("]"):
        raise KernelError("The brackets do not match: write [[1, 0], [0, 1]] or 1 0; 0 1.")
    if re.fullmatch(r"\[.*\]", body, flags=re.S):  # [[1, 0], [0, 1]] or [1, 2, 3]
        body = re.sub(r"\]\s*,?\s*\[", ";", body).replace("[", "").replace("]", "")
    if "[" in body or "]" in body:
        raise KernelError("The brackets do not match: write [[1, 0], [0, 1]] or 1 0; 0 1.")
    lines = [ln for ln in re.split(r"[;\n]", body) if ln.strip()]
    if not lines:
        raise KernelError("The kernel is empty: type some numbers, e.g. 0 -1 0; -1 5 -1; 0 -1 0.")
    if len(lines) > max_size:
        raise KernelError(f"{len(lines)} rows is more than the maximum {max_size}.")
    rows = []
    for r, line in enumerate(lines, start=1):
        tokens = [t for t in re.split(r"[,\s]+", line.strip()) if t]
        if len(tokens) > max_size:
            raise KernelError(
                f"row {r} has {len(tokens)} numbers, more than the maximum {max_size}."
            )
        rows.append([_number(t, r) for t in tokens])
        if len(rows[-1]) != len(rows[0]):
            raise KernelError(
                f"row {r} has {len(rows[-1])} numbers but row 1 has {len(rows[0])}; every row "
                "needs the same count."
            )
    with np.errstate(over="ignore"):
        out = np.array(rows, dtype=np.float64).astype(np.float32)
    if not np.isfinite(out).all():
        raise KernelError("A number is too large for a kernel: use numbers below 1e38.")
    return out


def format_kernel(a: np.ndarray) -> str:
    """Compact text ("1 0 -1; 2 0 -2; 1 0 -1") that parse_kernel reads back exactly."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    if a.ndim != 2 or a.size == 0:
        raise KernelError(f"A kernel is a non-empty 2-D grid of numbers, not shape {a.shape}.")
    if not np.isfinite(a).all():
        raise KernelError("A kernel with NaN or infinite weights cannot be written as text.")
    return "; ".join(" ".join(_short(v) for v in row) for row in a)


def _short(v: np.float32) -> str:
    """The shortest text that reads back as exactly this float32 (positional or scientific)."""
    if v == 0:
        return "0"  # also for -0.0: "-1 -0 1" would puzzle a student
    text = np.format_float_positional(v, trim="-", unique=True)
    sci = np.format_float_scientific(v, trim="-", unique=True, exp_digits=1).replace("e+", "e")
    return sci if len(sci) < len(text) else text


@dataclass(frozen=True, eq=False)
class Normalized:
    """What `normalize_kernel` did: the kernel, whether it was divided, and why (a sentence)."""

    array: np.ndarray
    changed: bool
    reason: str


def normalize_kernel(a: np.ndarray) -> Normalized:
    """Divide by the sum so a blur keeps brightness; kernels summing to ~0 are left as they are."""
    a = np.asarray(a, dtype=np.float32)
    total = float(a.sum(dtype=np.float64))
    if abs(total) < 1e-6 * max(1.0, float(np.abs(a).sum())):
        return Normalized(a.copy(), False, "The weights sum to 0 (an edge detector): left as is.")
    if math.isclose(total, 1.0, rel_tol=1e-6):
        return Normalized(a.copy(), False, "The weights already sum to 1.")
    return Normalized(
        (a / np.float32(total)).astype(np.float32),
        True,
        f"Divided every weight by their sum {total:g}, so flat areas keep their brightness.",
    )
