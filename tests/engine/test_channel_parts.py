"""cnnviz.channel_parts: the partial maps plus the bias add up to torch's own conv output
channel, and the batch norm / activation / pooling stages after it are torch's, with groups,
padding modes and random small nets."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnnviz import arch
from cnnviz.channel_parts import channel_parts


def prefix(model: nn.Sequential, x: np.ndarray, j: int) -> np.ndarray:
    """The output of model[:j+1] on x, computed straight by torch in eval mode."""
    model.eval()
    with torch.no_grad():
        return model[: j + 1](torch.as_tensor(x)[None])[0].numpy()


@settings(max_examples=12, deadline=None)
@given(
    st.integers(1, 3),
    st.sampled_from(["", "s2", "p1", "d2", "s2p1d2"]),
    st.sampled_from(["", "-relu", "-bn-relu-max2", "-tanh-avg2", "-max2", "-gelu-gap"]),
    st.integers(0, 999),
)
def test_partials_plus_bias_equal_the_torch_output_and_stages(c_in, settings_, after, seed):
    torch.manual_seed(seed)
    spec = f"conv4k3{settings_}{after}-conv3k2-relu-flat-fc"
    try:
        model = arch.build(spec, (c_in, 11, 11), 3)
    except arch.ArchError:
        assume(False)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    x = np.random.default_rng(seed).standard_normal((c_in, 11, 11)).astype(np.float32)
    channel = seed % 4
    parts = channel_parts(model.train(), x, "0", channel)
    assert all(m.training for m in model.modules())
    expected = prefix(model, x, 0)[channel]
    np.testing.assert_allclose(parts.sum, expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(parts.output, expected)
    np.testing.assert_allclose(
        parts.partials.sum(axis=0) + parts.bias, expected, atol=1e-5, rtol=1e-5
    )
    np.testing.assert_array_equal(parts.input, x)
    assert parts.in_channels == list(range(c_in))
    np.testing.assert_array_equal(parts.kernels, model[0].weight.detach().numpy()[channel])
    assert parts.bias == float(model[0].bias.detach()[channel])
    kinds = [k for _, k, _ in parts.stages]
    tokens = [t for t in after.split("-") if t]
    assert kinds == [arch.parse(t)[0].kind for t in tokens]
    for j, (name, _, stage) in enumerate(parts.stages, start=1):
        assert name == str(j)
        np.testing.assert_array_equal(stage, prefix(model, x, j)[channel])
    # the second conv: its input is the first block's output, its stages stop at flatten
    second = str(len(tokens) + 1)
    later = channel_parts(model, x, second, 2)
    np.testing.assert_allclose(later.input, prefix(model, x, len(tokens)), atol=1e-6)
    np.testing.assert_allclose(later.sum, prefix(model, x, len(tokens) + 1)[2], atol=1e-5)
    assert [k for _, k, _ in later.stages] == ["relu"]


def test_groups_and_a_padding_mode():
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="reflect"),
        nn.LeakyReLU(0.1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 2),
    )
    x = np.random.default_rng(2).standard_normal((4, 8, 8)).astype(np.float32)
    out = prefix(model, x, 0)
    for channel, reads in ((0, [0, 1]), (2, [0, 1]), (3, [2, 3]), (5, [2, 3])):
        parts = channel_parts(model, x, "0", channel)
        assert parts.in_channels == reads and parts.groups == 2
        assert parts.kernels.shape == (2, 3, 3) and parts.partials.shape == (2, 8, 8)
        np.testing.assert_allclose(parts.sum, out[channel], atol=1e-5)
        assert [(n, k) for n, k, _ in parts.stages] == [("1", "leaky_relu"), ("2", "avgpool")]
        np.testing.assert_array_equal(parts.stages[1][2], prefix(model, x, 2)[channel])


def test_a_conv_inside_a_block_and_wrong_requests():
    torch.manual_seed(4)
    model = arch.build("conv4k3p1-relu-res4-flat-fc", (1, 6, 6), 3)
    x = np.random.default_rng(3).random((1, 6, 6), dtype=np.float32)
    parts = channel_parts(model, x, "2.conv1", 1)
    block = model[2]
    with torch.no_grad():
        h = model[:2](torch.as_tensor(x)[None])
        expected = block.conv1(h)[0, 1].numpy()
    np.testing.assert_allclose(parts.sum, expected, atol=1e-5)
    assert parts.stages == []  # a residual block is not a chain of layers
    with pytest.raises(ValueError, match="a ReLU, not a conv layer,"):
        channel_parts(model, x, "1", 0)
    with pytest.raises(ValueError, match="no layer named 'conv'; its conv layers are: 0, 2.conv1"):
        channel_parts(model, x, "conv", 0)
    with pytest.raises(ValueError, match="has 4 output channels .0 to 3.; there is no channel 4"):
        channel_parts(model, x, "0", 4)
    with pytest.raises(ValueError, match="does not run on a 2 × 6 × 6 input"):
        channel_parts(model, np.zeros((2, 6, 6)), "0", 0)


def test_a_net_without_a_classifier():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding="same", bias=False), nn.ReLU())
    x = np.random.default_rng(4).standard_normal((2, 5, 5)).astype(np.float32)
    parts = channel_parts(model, x, "0", 1)
    assert parts.bias == 0.0 and parts.padding == "same"
    np.testing.assert_allclose(parts.sum, prefix(model, x, 0)[1], atol=1e-5)
    np.testing.assert_array_equal(parts.stages[0][2], prefix(model, x, 1)[1])
