"""Predict, then reveal: questions made from the page's current settings, answers from the engine.

Each generator returns a `Question` (or None when the settings give nothing to ask): a prompt,
three or four options, the index of the right one, an explanation, and for each wrong option
the slip that leads to it ("forgot the padding"). The right answer is always computed by the
engine (`output_size`, `conv2d`, `max_pool2d`, the step walks), never by this module, so what
the app reveals is what the page shows. The same settings and seed give the same question.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from cnnviz import ops
from cnnviz.kernels import PRESETS, preset
from cnnviz.numbers import fmt
from cnnviz.shapes import DimSize, OutputSize, SettingError, output_size

N_OPTIONS = 4


@dataclass(frozen=True, eq=False)
class Question:
    """One question card. `answer` indexes `options`; `slips[i]` says how a student gets the
    wrong option i ("" for the right one)."""

    prompt: str
    options: tuple[str, ...]
    answer: int
    explanation: str
    slips: tuple[str, ...] = ()
    picture: np.ndarray | None = field(default=None, repr=False)  # e.g. the map to explain
    value: object = None  # the engine's own answer (a size, a kernel name, a cell, a number)

    @property
    def id(self) -> str:
        """Stable while the question is the same: a new question resets the card."""
        text = "\x1f".join((self.prompt, *self.options))
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def is_right(self, choice: int | None) -> bool:
        return choice == self.answer

    def feedback(self, choice: int) -> str:
        """What the app says after the student picked `choice`."""
        if self.is_right(choice):
            return f"Right: {self.options[self.answer]}. {self.explanation}"
        slip = self.slips[choice] if choice < len(self.slips) else ""
        why = f" {slip}" if slip else ""
        return (
            f"Not quite: {self.options[choice]}.{why} The answer is "
            f"{self.options[self.answer]}. {self.explanation}"
        )


def _arrange(
    right: str,
    wrong: list[tuple[str, str]],
    seed: int,
    explanation: str,
    prompt: str,
    picture=None,
    value=None,
) -> Question:
    """The right option and up to three distinct wrong ones, in a seeded order."""
    seen, picked = {right}, []
    for text, slip in wrong:
        if text not in seen:
            seen.add(text)
            picked.append((text, slip))
        if len(picked) == N_OPTIONS - 1:
            break
    options = [(right, "")] + picked
    order = np.random.default_rng(seed).permutation(len(options))
    options = [options[i] for i in order]
    texts = tuple(t for t, _ in options)
    return Question(
        prompt, texts, texts.index(right), explanation, tuple(s for _, s in options), picture, value
    )


# ------------------------------------------------------------------------- output size


def _conv_out(n: int, k: int, s: int, pads: int, d: int, rounding=math.floor) -> int:
    return rounding((n + pads - d * (k - 1) - 1) / s) + 1


def _slips(dim: DimSize) -> list[tuple[int, str]]:
    """Wrong sizes from common slips with this dimension's numbers."""
    n, k, s, d, out = dim.input, dim.kernel, dim.stride, dim.dilation, dim.size
    before, after = dim.padding
    pads = before + after
    if dim.op == "conv_transpose":
        return [
            (
                (n - 1) * s + d * (k - 1) + 1 + dim.output_padding,
                "That forgets that padding crops 2·padding from the output.",
            ),
            (
                _conv_out(n, k, s, pads, d),
                "That is the size of a plain convolution; a transposed one grows the input.",
            ),
            ((n - 1) + d * (k - 1) + 1 - pads + dim.output_padding, "That forgets the stride."),
            (n * s, "That is the input times the stride; the kernel adds its own width."),
            (out - 1, "That forgets the + 1."),
        ]
    up, down = (math.floor, math.ceil) if dim.ceil_mode else (math.ceil, math.floor)
    rounding = (
        "That rounds down; ceil_mode rounds up."
        if dim.ceil_mode
        else "That rounds up; the formula rounds down (floor)."
    )
    return [
        (_conv_out(n, k, s, 0, d, down), "That forgets the padding."),
        (
            _conv_out(n, k, s, before, d, down),
            "That pads one side only; padding goes on both sides.",
        ),
        (_conv_out(n, k, 1, pads, d, down), "That forgets to divide by the stride."),
        (
            _conv_out(n, k, s, pads, 1, down),
            "That forgets the dilation: the kernel spans d·(k − 1) + 1 cells.",
        ),
        (_conv_out(n, k, s, pads, d, up), rounding),
        (out - 1, "That forgets the + 1 (the first window)."),
        (out + 1, "One too many: the last window must fit."),
    ]


def _size_text(h: int, w: int) -> str:
    return f"{h} × {w}"


def size_question(out: OutputSize, seed: int = 0) -> Question:
    """ "What size comes out?" for sizes the engine computed (`output_size(...)`)."""
    h, w = out.size
    per_dim = [_slips(d) for d in out.dims]
    wrong = []
    for (vh, slip), (vw, _) in zip(*per_dim):
        if vh >= 1 and vw >= 1 and (vh, vw) != (h, w):
            wrong.append((_size_text(vh, vw), slip))
    for dh in (1, -1, 2, -2, 3):  # plain neighbours if the slips coincide
        if h + dh >= 1 and w + dh >= 1:
            wrong.append((_size_text(h + dh, w + dh), "Count the windows again."))
    op = {"conv": "convolution", "pool": "pooling", "conv_transpose": "transposed convolution"}
    dims = out.dims[:1] if out.symmetric else out.dims
    steps = " ".join(
        f"{'Height and width' if out.symmetric else d.axis.capitalize()}: {d.formula}."
        for d in dims
    )
    d0 = out.dims[0]

    def pad(d: DimSize) -> str:
        a, b = d.padding
        return str(a) if a == b else f"{a} + {b}"

    d1 = out.dims[1]
    settings = ", ".join(
        f"{name} {a if a == b else f'{a} × {b}'}"
        for name, a, b in (
            ("kernel", d0.kernel, d1.kernel),
            ("stride", d0.stride, d1.stride),
            ("padding", pad(d0), pad(d1)),
            ("dilation", d0.dilation, d1.dilation),
        )
    )
    prompt = (
        f"A {op[d0.op]} layer gets a {d0.input} × {out.dims[1].input} input ({settings}). "
        "What size comes out?"
    )
    return _arrange(_size_text(h, w), wrong, seed, steps, prompt, value=(h, w))


# ------------------------------------------------------------------------ which kernel


KERNEL_CHOICES = (
    "identity",
    "box_blur_3",
    "sharpen",
    "sobel_x",
    "sobel_y",
    "laplacian_4",
    "emboss",
    "outline",
)  # 3x3 presets whose maps look different


def _label(name: str) -> str:
    return name.replace("_", " ")


def kernel_question(
    image: np.ndarray,
    seed: int = 0,
    stride=1,
    padding=0,
    dilation=1,
    padding_mode: str = "zeros",
) -> Question | None:
    """ "Which kernel made this map?": a seeded preset slides over `image` ((H, W) gray in
    [0, 1]) with the page's stride, padding and dilation; the options are four presets."""
    rng = np.random.default_rng(seed)
    names = list(rng.permutation(KERNEL_CHOICES))
    right, others = names[0], names[1:N_OPTIONS]
    x = np.asarray(image, dtype=np.float32)[None]
    try:
        output_size(x.shape[1:], 3, stride, padding, dilation, padding_mode=padding_mode)
    except SettingError:
        return None
    fmap = ops.conv2d(
        x, preset(right)[None, None], None, stride, padding, dilation, 1, padding_mode
    )[0]
    wrong = [(_label(n), f"{_label(n).capitalize()}: {_describe(n)}") for n in others]
    k = preset(right)
    numbers = "; ".join(" ".join(f"{v:g}" for v in row) for row in k)
    explanation = f"{_describe(right)} Its numbers: [{numbers}]."
    prompt = (
        "One of these kernels slid over the picture (with this page's stride, padding and "
        "dilation) and made the map below. Which one?"
    )
    return _arrange(_label(right), wrong, seed, explanation, prompt, picture=fmap, value=right)


def _describe(name: str) -> str:
    return PRESETS[name].description


# ------------------------------------------------------------------------ which cell wins


def _cell_text(r: int, c: int) -> str:
    return f"row {r}, column {c}"


def pool_question(
    grid: np.ndarray,
    kernel_size: int,
    stride: int,
    padding: int = 0,
    ceil_mode: bool = False,
    seed: int = 0,
) -> Question | None:
    """ "Which cell wins?" for max pooling on an (H, W) grid: one output cell, chosen by the
    seed among those whose window has at least two different numbers. Rows and columns count
    from 0 (like numpy and torch indices)."""
    g = np.asarray(grid, dtype=np.float32)
    out, idx = ops.max_pool2d(
        g[None], kernel_size, stride, padding, ceil_mode=ceil_mode, return_indices=True
    )
    h, w = g.shape
    candidates = []
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            r0, c0 = i * stride - padding, j * stride - padding
            rows = range(max(0, r0), min(h, r0 + kernel_size))
            cols = range(max(0, c0), min(w, c0 + kernel_size))
            cells = [(r, c) for r in rows for c in cols]
            if len({float(g[r, c]) for r, c in cells}) > 1:
                candidates.append((i, j, cells))
    if not candidates:
        return None
    i, j, cells = candidates[np.random.default_rng(seed).integers(len(candidates))]
    win = divmod(int(idx[0, i, j]), w)  # the engine's winner (first in reading order on a tie)
    best = float(out[0, i, j])
    assert float(g[win]) == best
    wrong = [
        (_cell_text(r, c), f"That cell holds {g[r, c]:g}, less than {best:g}.")
        for r, c in cells
        if float(g[r, c]) < best
    ]
    wrong.sort(key=lambda t: -float(g[tuple(int(v) for v in t[0][4:].split(", column "))]))
    rows = f"rows {cells[0][0]}–{cells[-1][0]}, columns {cells[0][1]}–{cells[-1][1]}"
    explanation = (
        f"The window of output cell ({i}, {j}) covers {rows}; its largest number is "
        f"{best:g}, at {_cell_text(*win)}."
    )
    if sum(float(g[c]) == best for c in cells) > 1:
        explanation += " On a tie the first one in reading order wins (as in PyTorch)."
    prompt = (
        f"Max pooling (window {kernel_size}, stride {stride}, padding {padding}): which "
        f"input cell wins output cell (row {i}, column {j})?"
    )
    return _arrange(_cell_text(*win), wrong, seed, explanation, prompt, value=win)


# --------------------------------------------------------------------- what a step writes


def step_question(walk, k: int, seed: int = 0) -> Question | None:
    """ "What number does step k write?" for a convolution or pooling walk (`walks.make_walk`)
    with one output map; `k` is 0-based. The answer is the walk's own value for that step."""
    if walk.mode not in ("conv", "max_pool", "avg_pool"):
        return None
    if walk.output.shape[0] != 1:
        return None
    step = walk.step(k)
    value = float(step.values[0])
    if not np.isfinite(value):
        return None
    right = fmt(value)
    wrong: list[tuple[str, str]] = []
    if walk.mode == "conv":
        total_wo_bias = sum(float(p.sum) for p in step.parts)
        if step.bias:
            wrong.append((fmt(total_wo_bias), "That forgets the bias."))
        window_sum = sum(float(np.sum(p.window)) for p in step.parts)
        wrong.append(
            (
                fmt(window_sum + (step.bias or 0)),
                "That adds the window's numbers without multiplying them by the kernel.",
            )
        )
        for p in step.parts:
            nonzero = [float(v) for v in np.ravel(p.products) if v != 0]
            if nonzero:
                wrong.append((fmt(value - nonzero[-1]), "That leaves out the last product."))
                break
    else:
        values = sorted(
            {float(v) for p in step.parts for v in np.ravel(p.window) if np.isfinite(v)}
        )
        if walk.mode == "max_pool":
            for v in reversed(values):
                if v < value:
                    wrong.append((fmt(v), "A number of the window, but not its largest."))
        else:
            part = step.parts[0]
            total = float(np.sum(np.where(np.isfinite(part.window), part.window, 0)))
            wrong.append((fmt(total), f"That is the window's sum: divide by {part.divisor}."))
            if values:
                wrong.append(
                    (fmt(values[-1]), "That is the window's largest number (max pooling).")
                )
    for other in (k + 1, k - 1, k + 2):
        if 0 <= other < walk.n_steps:
            wrong.append(
                (fmt(float(walk.step(other).values[0])), "That is the number of another step.")
            )
    for dv in (1, -1, 2):
        wrong.append((fmt(value + dv), "Check the sum again."))
    what = {"conv": "convolution", "max_pool": "max pooling", "avg_pool": "average pooling"}
    prompt = (
        f"Step {k + 1} of the {what[walk.mode]}: which number does the window write into "
        f"output cell (row {step.row}, column {step.col})?"
    )
    from cnnviz import explain

    lines = explain.window_equation(walk.mode, step)
    return _arrange(right, wrong, seed, "; ".join(lines) + ".", prompt, value=value)
