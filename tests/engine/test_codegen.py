"""The PyTorch code cnnviz shows builds a layer whose output shape is the one cnnviz predicts."""

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn  # noqa: F401 - the generated code says nn.

import cnnviz
from cnnviz.codegen import layer_code
from cnnviz.shapes import SettingError


@given(
    st.sampled_from(["conv", "pool", "conv_transpose"]),
    st.integers(3, 12),
    st.integers(3, 12),
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.integers(1, 3),
    st.one_of(st.integers(0, 2), st.sampled_from(["same", "valid", "full"])),
    st.integers(1, 2),
    st.booleans(),
    st.integers(0, 1),
    st.sampled_from(["zeros", "reflect", "circular"]),
)
def test_generated_layer_has_the_predicted_shape(op, h, w, k, s, p, d, ceil, opad, mode):
    if op != "conv" and isinstance(p, str):
        p = 1
    try:
        want = cnnviz.output_size(
            (h, w), k, s, p, d, op=op, ceil_mode=ceil, output_padding=opad, padding_mode=mode
        ).size
    except SettingError:
        return
    code = layer_code(op, k, s, p, d, ceil_mode=ceil, output_padding=opad, padding_mode=mode)
    layer = eval(code)  # our own generated text, not user input
    assert tuple(layer(torch.zeros(1, 1, h, w)).shape[-2:]) == want


def test_defaults_are_left_out():
    assert layer_code("conv", 3) == "nn.Conv2d(1, 1, kernel_size=3)"
    assert layer_code("pool", 2, None) == "nn.MaxPool2d(kernel_size=2)"
    assert layer_code("conv", (3, 5), (2, 1), 1, in_channels=3, out_channels=8) == (
        "nn.Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 1), padding=1)"
    )
