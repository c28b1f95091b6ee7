"""Convolution, pooling and activations in plain numpy, with PyTorch's semantics and argument names.

Every function takes `(C, H, W)` or `(N, C, H, W)` and returns the same rank. The code favours
what a reader can follow: a convolution is a loop over kernel offsets that adds shifted, strided
slices of the padded input. Tests compare every function with `torch.nn.functional`.

- `conv.py`: conv2d, its per-channel partial maps, conv_transpose2d
- `pool.py`: max, average, adaptive and global pooling
- `activations.py`: relu and friends, softmax, log_softmax
- `arrays.py`: the shared plumbing (batch axis, padding modes, strided tap slices)
"""

from cnnviz.ops.activations import (
    ACTIVATIONS,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from cnnviz.ops.arrays import PaddingMode, pad2d
from cnnviz.ops.conv import conv2d, conv2d_partials, conv_transpose2d, sum_partials
from cnnviz.ops.pool import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, max_pool2d

__all__ = [
    "ACTIVATIONS",
    "PaddingMode",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "conv2d",
    "conv2d_partials",
    "conv_transpose2d",
    "gelu",
    "global_avg_pool2d",
    "leaky_relu",
    "log_softmax",
    "max_pool2d",
    "pad2d",
    "relu",
    "sigmoid",
    "softmax",
    "sum_partials",
    "tanh",
]
