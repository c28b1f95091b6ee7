"""cnnviz: the engine behind the visualizer. numpy in, numpy out, PyTorch semantics.

>>> import numpy as np, cnnviz
>>> x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
>>> cnnviz.conv2d(x, np.ones((1, 1, 3, 3), np.float32), stride=2).shape
(1, 2, 2)
"""

from cnnviz.images import SAMPLES, ImageError, LoadedImage, load_image, sample_image
from cnnviz.kernels import (
    PRESETS,
    KernelError,
    format_kernel,
    normalize_kernel,
    parse_kernel,
    preset,
    random_kernel,
)
from cnnviz.ops import (
    ACTIVATIONS,
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    conv2d_partials,
    conv_transpose2d,
    gelu,
    global_avg_pool2d,
    leaky_relu,
    log_softmax,
    max_pool2d,
    pad2d,
    relu,
    sigmoid,
    softmax,
    sum_partials,
    tanh,
)
from cnnviz.shapes import (
    DimSize,
    FieldRow,
    OutputSize,
    SettingError,
    output_size,
    receptive_field,
)
from cnnviz.trace import CellTrace, ChannelTrace, trace

__all__ = [
    "ImageError",
    "KernelError",
    "LoadedImage",
    "PRESETS",
    "SAMPLES",
    "format_kernel",
    "load_image",
    "normalize_kernel",
    "parse_kernel",
    "preset",
    "random_kernel",
    "sample_image",
    "ACTIVATIONS",
    "CellTrace",
    "ChannelTrace",
    "DimSize",
    "FieldRow",
    "OutputSize",
    "SettingError",
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
    "output_size",
    "pad2d",
    "receptive_field",
    "relu",
    "sigmoid",
    "softmax",
    "sum_partials",
    "tanh",
    "trace",
]
