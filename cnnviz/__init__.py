"""cnnviz: the engine behind the visualizer. numpy in, numpy out, PyTorch semantics.

>>> import numpy as np, cnnviz
>>> x = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
>>> cnnviz.conv2d(x, np.ones((1, 1, 3, 3), np.float32), stride=2).shape
(1, 2, 2)

The torch-based parts (architectures, datasets, training, checkpoints) load on first use, so
`import cnnviz` stays light for the pages that never train:

>>> [row.out_shape for row in cnnviz.summarize("conv8k3-relu-max2-flat-fc", (1, 16, 16), 10)]
[(8, 14, 14), (8, 14, 14), (8, 7, 7), (392,), (10,)]
"""

__version__ = "0.6.0"  # recorded in every checkpoint's JSON (cnnviz_version)

import cnnviz._same_numbers  # noqa: F401  (first: it must run before torch loads)
from cnnviz.backward import (
    GradTerm,
    GradTrace,
    avg_pool2d_backward,
    conv2d_backward,
    max_pool2d_backward,
    trace_avg_pool_grad,
    trace_grad_bias,
    trace_grad_input,
    trace_grad_weight,
    trace_max_pool_grad,
)
from cnnviz.images.decode import ImageError, LoadedImage, load_image
from cnnviz.images.digit import centre_digit, fit_to_input
from cnnviz.images.samples import SAMPLES, sample_image
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
from cnnviz.prediction import SoftmaxSteps, logits, softmax_steps
from cnnviz.receptive_field import FieldRow, receptive_field
from cnnviz.shapes import DimSize, OutputSize, SettingError, output_size
from cnnviz.trace import CellTrace, ChannelTrace, trace

# name -> module, imported on first access (PEP 562): these need torch
_LAZY = {
    "ArchError": "cnnviz.arch",
    "build": "cnnviz.arch",
    "parse_arch": ("cnnviz.arch", "parse"),
    "summarize": "cnnviz.arch",
    "to_code": "cnnviz.arch",
    "capture": "cnnviz.probe",
    "Dataset": "cnnviz.data",
    "DataError": "cnnviz.data",
    "builtin_dataset": ("cnnviz.data", "builtin"),
    "Trainer": "cnnviz.training",
    "TrainConfig": "cnnviz.training",
    "CheckpointError": "cnnviz.checkpoint",
    "load_checkpoint": ("cnnviz.checkpoint", "load"),
    "save_checkpoint": ("cnnviz.checkpoint", "save"),
    "grad_cam": "cnnviz.attribution",
    "saliency": "cnnviz.attribution",
    "conv_layer_names": "cnnviz.attribution",
    "predicted": "cnnviz.attribution",
    "ChannelParts": "cnnviz.channel_parts",
    "channel_parts": "cnnviz.channel_parts",
    "FieldBox": "cnnviz.unit_field",
    "unit_field": "cnnviz.unit_field",
    "PRETRAINED": "cnnviz.pretrained",
    "pretrained_model": ("cnnviz.pretrained", "pretrained"),  # cnnviz.pretrained is the module
    "transfer_vs_scratch": "cnnviz.transfer",
    "few_per_class": "cnnviz.transfer",
    "maximize_channel": "cnnviz.maximize",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'cnnviz' has no attribute {name!r}")
    import importlib

    where = _LAZY[name]
    module, attr = where if isinstance(where, tuple) else (where, name)
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


__all__ = [
    "__version__",
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
    "centre_digit",
    "fit_to_input",
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
    "GradTerm",
    "GradTrace",
    "avg_pool2d_backward",
    "conv2d_backward",
    "max_pool2d_backward",
    "trace_avg_pool_grad",
    "trace_grad_bias",
    "trace_grad_input",
    "trace_grad_weight",
    "trace_max_pool_grad",
    "SoftmaxSteps",
    "logits",
    "softmax_steps",
    *_LAZY,
]
