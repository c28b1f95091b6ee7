"""Gradients of convolution and pooling in plain numpy, with PyTorch's semantics (no torch here).

Backpropagation through a layer answers, given dL/dy (how the loss changes with each output
cell), how the loss changes with the weights, the bias and the input:

- `conv.py`: conv2d_backward (dL/dx, dL/dW, dL/db)
- `pool.py`: max_pool2d_backward, avg_pool2d_backward
- `traces.py`: one gradient number explained term by term (GradTrace, trace_*)

Summation order is fixed, so the traces repeat it number for number (a traced cell equals the
map bit for bit).
"""

from cnnviz.backward.conv import conv2d_backward
from cnnviz.backward.pool import avg_pool2d_backward, max_pool2d_backward
from cnnviz.backward.traces import (
    GradTerm,
    GradTrace,
    trace_avg_pool_grad,
    trace_grad_bias,
    trace_grad_input,
    trace_grad_weight,
    trace_max_pool_grad,
)

__all__ = [
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
]
