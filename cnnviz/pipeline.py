"""The whole CNN pipeline on one image, with real numbers: what the Home page draws.

input -> conv (4 filters) -> ReLU -> max pool -> flatten -> dense (10) -> softmax. The conv
filters are hand-made presets so their maps mean something; the dense layer is untrained
(seeded random weights, no bias; its 10 sums are centred on their mean so the bars start from 0),
and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.kernels import preset
from cnnviz.ops import conv2d, max_pool2d, relu, softmax

FILTERS = ("sobel_x", "sobel_y", "laplacian_8", "gaussian_5")
FILTER_NAMES = "Sobel x (vertical edges), Sobel y (horizontal edges), Laplacian, Gaussian blur"
CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its name, its output, and one sentence about it."""

    key: str
    title: str
    output: np.ndarray
    sentence: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.shape)


def filter_bank(names: tuple[str, ...] = FILTERS) -> np.ndarray:
    """Stack same-size presets into a conv weight (O, 1, k, k), smaller ones zero-padded."""
    kernels = [preset(n) for n in names]
    k = max(max(a.shape) for a in kernels)
    bank = np.zeros((len(kernels), 1, k, k), dtype=np.float32)
    for i, a in enumerate(kernels):
        top, left = (k - a.shape[0]) // 2, (k - a.shape[1]) // 2
        bank[i, 0, top : top + a.shape[0], left : left + a.shape[1]] = a
    return bank


def run_pipeline(gray: np.ndarray, seed: int = 0) -> list[Stage]:
    """Every stage's output for a (H, W) image in [0, 1]."""
    x = np.asarray(gray, dtype=np.float32)[None]
    w = filter_bank()
    conv = conv2d(x, w, padding="same")
    act = relu(conv)
    pooled = max_pool2d(act, 2)
    flat = pooled.reshape(-1)
    rng = np.random.default_rng(seed)
    dense_w = rng.standard_normal((len(CLASSES), flat.size)).astype(np.float32)
    dense_w /= np.sqrt(flat.size)
    logits = dense_w @ flat - (dense_w @ flat).mean()
    probs = softmax(logits)
    c, h, wd = pooled.shape
    return [
        Stage(
            "input",
            "Input",
            x,
            f"An image is a grid of numbers: {x.shape[0]} channel, {x.shape[1]}×{x.shape[2]} "
            "pixels (a colour photo has 3 channels: red, green, blue).",
        ),
        Stage(
            "conv",
            "Convolution",
            conv,
            f"Each of {w.shape[0]} small kernels slides over the image, multiplying and summing "
            f"at every position: {w.shape[0]} feature maps, so the output has depth "
            f"{w.shape[0]}. Here: {FILTER_NAMES}.",
        ),
        Stage(
            "relu",
            "ReLU",
            act,
            "max(0, x): negative responses become 0, positive ones pass unchanged (ReLU does "
            "not squash values into 0..1).",
        ),
        Stage(
            "pool",
            "Max pooling",
            pooled,
            f"Keep the largest value of each 2×2 block: each map halves to {h}×{wd}; the "
            f"number of maps stays {c}.",
        ),
        Stage(
            "flatten",
            "Flatten",
            flat,
            f"Lay the {c}×{h}×{wd} numbers out in one row of {flat.size}: no numbers change, "
            "only their arrangement.",
        ),
        Stage(
            "dense",
            "Fully connected",
            logits,
            f"Each of {len(CLASSES)} outputs is a weighted sum of all {flat.size} inputs, "
            f"with no bias; then the mean of the {len(CLASSES)} sums is subtracted from each "
            "(which changes no probability below): one score per class (these weights are "
            "untrained).",
        ),
        Stage(
            "softmax",
            "Softmax",
            probs,
            "Turn the scores into probabilities that are positive and add up to 1; training "
            "(loss, backpropagation, an optimizer such as SGD or Adam) tunes every weight so "
            "the right class wins.",
        ),
    ]
