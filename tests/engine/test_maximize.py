"""What a filter wants: the synthesised picture excites its channel more than the random start
and more than real digits do, the same seed gives the same picture, and the net is unchanged."""

import numpy as np
import pytest
import torch

from cnnviz import maximize, pretrained


@pytest.fixture(scope="module")
def net():
    model, meta = pretrained.pretrained("digits")
    return model, tuple(meta["input_shape"])


@pytest.mark.parametrize("layer,channel", [("0", 2), ("3", 5), ("4", 1), ("5", 6), ("7", 7)])
def test_the_picture_excites_its_channel_more_than_real_digits(net, layer, channel):
    model, shape = net
    before = {k: v.clone() for k, v in model.state_dict().items()}
    steps = []
    x = maximize.maximize_channel(
        model, layer, channel, shape, seed=3, on_step=lambda i, n: steps.append((i, n))
    )
    assert x.shape == shape and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    start = maximize.start_image(shape, seed=3)
    real = pretrained.digits28().x_test[:200]
    got = maximize.channel_activation(model, layer, channel, x)[0]
    assert got > maximize.channel_activation(model, layer, channel, start)[0]
    assert got > maximize.channel_activation(model, layer, channel, real).mean()
    # the same number as a plain forward pass up to that layer
    t = torch.from_numpy(x)[None]
    with torch.no_grad():
        upto = model[: int(layer) + 1](t)
    assert got == pytest.approx(float(upto[0, channel].mean()), rel=1e-5, abs=1e-6)
    assert steps == [(i, 96) for i in range(1, 97)]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters()) and not model.training


def test_the_same_seed_gives_the_same_picture(net):
    model, shape = net
    a = maximize.maximize_channel(model, "3", 1, shape, steps=20, seed=1)
    b = maximize.maximize_channel(model, "3", 1, shape, steps=20, seed=1)
    c = maximize.maximize_channel(model, "3", 1, shape, steps=20, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_layer_or_channel_the_net_lacks_is_one_sentence(net):
    model, shape = net
    with pytest.raises(ValueError, match="no layer called 'conv9'"):
        maximize.maximize_channel(model, "conv9", 0, shape, steps=2)
    with pytest.raises(ValueError, match="has 16 channels .0-15.; there is no channel 16"):
        maximize.maximize_channel(model, "3", 16, shape, steps=2)
