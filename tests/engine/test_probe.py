"""cnnviz.probe: activations equal torch's own layer outputs in eval mode, nothing is left behind
(hooks, training mode), copies are copies; filters and histograms are the real weights."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz import arch, probe


def net(spec="conv4k3p1-bn-relu-max2-drop0.5-conv6k3-relu-gap-flat-fc8-bn-relu-drop-fc"):
    torch.manual_seed(0)
    return arch.build(spec, (3, 12, 12), 5)


def no_hooks(model):
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in model.modules()
    )


def test_capture_every_layer_equals_torch_in_eval_mode():
    model = net().train()
    x = torch.rand(1, 3, 12, 12)
    acts = probe.capture(model, x)
    assert len(acts) == len(model)
    expected = []
    ref = arch.build(
        "conv4k3p1-bn-relu-max2-drop0.5-conv6k3-relu-gap-flat-fc8-bn-relu-drop-fc", (3, 12, 12), 5
    )
    ref.load_state_dict(model.state_dict())
    ref.eval()
    h = x
    with torch.no_grad():
        for layer in ref:
            h = layer(h)
            expected.append(h[0].numpy())
    rows = arch.summarize(model, (3, 12, 12))
    for a, e, row in zip(acts, expected, rows):
        assert a.values.dtype == np.float32
        assert a.shape == a.values.shape == e.shape == row.out_shape
        np.testing.assert_allclose(a.values, e, rtol=1e-6, atol=1e-6)
        assert (a.index, a.name, a.kind) == (row.index, row.name, row.kind)
    # dropout is off (eval): capturing twice gives the same numbers
    again = probe.capture(model, x)
    for a, b in zip(acts, again):
        np.testing.assert_array_equal(a.values, b.values)
    assert model.training and all(m.training for m in model.modules())
    assert no_hooks(model)


def test_capture_restores_mixed_modes_and_does_not_touch_batchnorm_stats():
    model = net().train()
    model[1].eval()  # a user froze one batch norm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe.capture(model, np.random.default_rng(0).random((3, 12, 12), dtype=np.float32))
    assert model.training and not model[1].training and model[0].training
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_capture_returns_copies():
    model = net()
    x = torch.rand(1, 3, 12, 12)
    acts = probe.capture(model, x)
    first = acts[0].values.copy()
    with torch.no_grad():
        model[0].weight.add_(1.0)  # the trainer keeps training
    np.testing.assert_array_equal(acts[0].values, first)
    acts[0].values[:] = 0  # a page scribbles on its copy
    assert np.abs(probe.capture(model, x)[0].values).sum() > 0


def test_capture_keeps_the_gradient_graph_out():
    model = net()
    x = torch.rand(1, 3, 12, 12, requires_grad=True)
    probe.capture(model, x)
    assert x.grad is None and all(p.grad is None for p in model.parameters())


class TwoPaths(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3)
        self.b = nn.Sequential(nn.ReLU(), nn.AvgPool2d(2))
        self.fc = nn.Linear(2 * 3 * 3, 4)

    def forward(self, x):
        return self.fc(self.b(self.a(x)).flatten(1))


def test_capture_any_module_through_leaf_hooks_and_removes_them():
    model = TwoPaths().train()
    acts = probe.capture(model, torch.rand(1, 1, 8, 8))
    assert [(a.kind, a.shape) for a in acts] == [
        ("conv", (2, 6, 6)),
        ("relu", (2, 6, 6)),
        ("avgpool", (2, 3, 3)),
        ("linear", (4,)),
    ]
    assert no_hooks(model) and model.training
    # the forward fails: hooks still removed, mode still restored
    with pytest.raises(RuntimeError):
        probe.capture(model, torch.rand(1, 1, 3, 3))
    assert no_hooks(model) and all(m.training for m in model.modules())


@pytest.mark.parametrize("shape", [(2, 3, 12, 12), (12, 12), (1, 1, 3, 12, 12)])
def test_capture_wants_one_image(shape):
    with pytest.raises(ValueError, match="one image"):
        probe.capture(net(), torch.zeros(shape))


def test_first_filters():
    model = net()
    f = probe.first_filters(model)
    assert f.shape == (4, 3, 3, 3) and f.dtype == np.float32
    np.testing.assert_array_equal(f, model[0].weight.detach().numpy())
    f[:] = 0
    assert model[0].weight.abs().sum() > 0
    assert probe.first_filters(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))) is None


def test_weight_grad_stats_before_and_after_backward():
    model = net()
    stats = probe.weight_grad_stats(model, bins=20)
    layers_with_weights = [i for i, m in enumerate(model) if getattr(m, "weight", None) is not None]
    assert [s.index for s in stats] == layers_with_weights
    assert all(s.grads is None and s.grad_to_weight is None for s in stats)
    for s in stats:
        w = model[s.index].weight.detach().numpy()
        assert s.shape == w.shape
        assert s.weights.counts.sum() == w.size == s.weights.n
        assert len(s.weights.edges) == 21
        w64 = w.astype(np.float64)
        if w64.min() == w64.max():  # batch norm's fresh scales: all 1, one bar around it
            assert s.weights.edges[0] < w64[0] < s.weights.edges[-1]
            assert s.weights.counts.max() == w.size
            continue
        counts, edges = np.histogram(w64, bins=20, range=(w64.min(), w64.max()))
        # torch bins in float32: a value on a bin edge may land one bin over
        assert np.abs(s.weights.counts - counts).sum() <= 2
        np.testing.assert_allclose(s.weights.edges, edges, rtol=1e-6)
        assert s.weights.std == pytest.approx(float(w64.std()), rel=1e-4)
        assert s.weights.mean == pytest.approx(float(w.mean()), rel=1e-5, abs=1e-7)
        assert s.biases is not None and s.biases.n == model[s.index].bias.numel()
    model.train()
    loss = nn.functional.cross_entropy(model(torch.rand(4, 3, 12, 12)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    stats = probe.weight_grad_stats(model)
    for s in stats:
        g = model[s.index].weight.grad.numpy()
        assert s.grads.n == g.size and s.grads.counts.sum() == g.size
        assert s.grads.norm == pytest.approx(float(np.linalg.norm(g)), rel=1e-5)
        assert s.grad_to_weight == pytest.approx(s.grads.norm / s.weights.norm)
        assert s.bias_grads is not None


def test_histogram_edge_cases():
    h = probe.histogram(np.zeros(5))
    assert h.counts.sum() == 5 and h.edges[0] < 0 < h.edges[-1]
    h = probe.histogram(np.array([1.0, np.nan, np.inf, 2.0]), bins=4)
    assert h.n == 2 and h.counts.sum() == 2 and h.max == 2.0
    h = probe.histogram(np.array([np.nan]))
    assert h.n == 0 and h.counts.sum() == 0


def test_stats_and_capture_on_a_custom_module():
    model = TwoPaths()
    stats = probe.weight_grad_stats(model)
    assert [(s.name, s.kind) for s in stats] == [("conv2k3", "conv"), ("fc4", "linear")]


class Residual(nn.Sequential):
    """A Sequential whose forward is not a plain chain: hooks, not layer-by-layer replay."""

    def forward(self, x):
        return self[1](self[0](x) + x)


def test_capture_a_sequential_subclass_with_its_own_forward():
    model = Residual(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU())
    x = torch.rand(1, 2, 5, 5)
    acts = probe.capture(model, x)
    with torch.no_grad():
        inner = model[0](x)
        expected = [inner[0].numpy(), torch.relu(inner + x)[0].numpy()]
    for a, e in zip(acts, expected):
        np.testing.assert_allclose(a.values, e, rtol=1e-6)
    assert no_hooks(model)


def test_layer_weights_are_copies_of_every_conv_and_linear_weight():
    model = net()
    got = probe.layer_weights(model)
    expected = [
        (i, type(m).__name__)
        for i, m in enumerate(model)
        if isinstance(m, (nn.Conv2d, nn.Linear))  # batch norm's 1-D weight is left out
    ]
    assert [(i, name) for i, name, _ in got] == expected
    for i, _, w in got:
        np.testing.assert_array_equal(w, model[i].weight.detach().numpy())
    got[0][2][...] = 99.0  # a copy: the model keeps its weights
    assert not (model[got[0][0]].weight == 99.0).any()
