"""cnnviz.attribution: Grad-CAM and saliency equal a direct torch computation (the net cut at the
layer, or a hook keeping the layer's output, then autograd), on random small nets; the model is
left as it was (mode, no .grad, no hooks)."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnnviz import arch
from cnnviz.attribution import conv_layer_names, grad_cam, predicted, saliency


def cut_cam(model: nn.Sequential, x: np.ndarray, i: int, target: int) -> np.ndarray:
    """Grad-CAM of layer i of a Sequential, the independent way: A = model[:i+1](x) as a leaf,
    the logit from model[i+1:](A), autograd for dlogit/dA, then ReLU(Σ mean(grad)_k A_k)."""
    model.eval()
    with torch.no_grad():
        a = model[: i + 1](torch.as_tensor(x)[None])
    a = a.clone().requires_grad_(True)
    logit = model[i + 1 :](a.clone())[0, target]
    logit.backward()
    alpha = a.grad[0].mean(dim=(1, 2))
    return torch.relu((alpha[:, None, None] * a[0].detach()).sum(0)).numpy()


def hook_cam(model: nn.Module, x: np.ndarray, layer: nn.Module, target: int) -> np.ndarray:
    """Grad-CAM of any module: a forward hook keeps its output (retain_grad), backward."""
    model.eval()
    kept = []

    def hook(m, i, o):
        o.retain_grad()
        kept.append(o)

    h = layer.register_forward_hook(hook)
    xt = torch.as_tensor(x)[None].requires_grad_(True)
    model(xt)[0, target].backward()
    h.remove()
    a = kept[-1]
    alpha = a.grad[0].mean(dim=(1, 2))
    return torch.relu((alpha[:, None, None] * a[0].detach()).sum(0)).numpy()


def direct_saliency(model: nn.Module, x: np.ndarray, target: int) -> np.ndarray:
    model.eval()
    xt = torch.as_tensor(x)[None].requires_grad_(True)
    model(xt)[0, target].backward()
    return xt.grad[0].abs().amax(0).numpy()


def untouched(model: nn.Module, training: bool) -> bool:
    return all(
        m.training == training and not m._forward_hooks and not m._backward_hooks
        for m in model.modules()
    ) and all(p.grad is None for p in model.parameters())


@st.composite
def nets(draw):
    """A random small spec: one or two convs (stride, padding, dilation), activations, pools."""
    c = draw(st.integers(1, 3))
    layers = []
    for _ in range(draw(st.integers(1, 2))):
        k = draw(st.sampled_from([1, 2, 3]))
        s = draw(st.sampled_from([1, 2]))
        p = draw(st.integers(0, 1))
        d = draw(st.sampled_from([1, 2]))
        layers.append(f"conv{draw(st.integers(1, 4))}k{k}s{s}p{p}d{d}")
        layers.append(draw(st.sampled_from(["relu", "tanh", "lrelu", "bn-relu"])))
        if draw(st.booleans()):
            layers.append(draw(st.sampled_from(["max2", "avg2"])))
    layers.append(draw(st.sampled_from(["flat-fc", "gap-flat-fc", "flat-fc6-relu-fc"])))
    n = draw(st.integers(2, 5))
    torch.manual_seed(draw(st.integers(0, 1000)))
    try:
        model = arch.build("-".join(layers), (c, 12, 12), n)
    except arch.ArchError:  # a window larger than its map
        assume(False)
    with torch.no_grad():  # a trained-looking batch norm
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    x = np.random.default_rng(draw(st.integers(0, 1000))).random((c, 12, 12), dtype=np.float32)
    return model, x, n


@settings(max_examples=15, deadline=None)
@given(nets(), st.data())
def test_grad_cam_and_saliency_equal_torch_on_random_nets(case, data):
    model, x, n = case
    model.train()
    target = data.draw(st.integers(0, n - 1))
    names = conv_layer_names(model)
    assert names == [str(i) for i, m in enumerate(model) if isinstance(m, nn.Conv2d)]
    for name in names:
        i = int(name)
        cam = grad_cam(model, x, name, target)
        assert cam.dtype == np.float32 and (cam >= 0).all()
        expected = cut_cam(model, x, i, target)  # (in eval mode: batch norm's stats stay)
        assert cam.shape == expected.shape
        np.testing.assert_allclose(cam, expected, rtol=1e-5, atol=1e-6)
        model.train()
    sal = saliency(model, x, target)
    model.train()
    assert sal.shape == x.shape[1:] and sal.dtype == np.float32 and (sal >= 0).all()
    np.testing.assert_allclose(sal, direct_saliency(model, x, target), rtol=1e-5, atol=1e-7)
    model.train()
    for p in model.parameters():
        p.grad = None
    grad_cam(model, x, names[-1])
    saliency(model, x)
    assert untouched(model, True)


def test_none_is_the_predicted_class_and_pooling_after_the_conv():
    torch.manual_seed(3)
    model = arch.build("conv4k3-relu-max2-conv6k3p1-relu-avg2-flat-fc", (1, 14, 14), 7)
    x = np.random.default_rng(0).random((1, 14, 14), dtype=np.float32)
    with torch.no_grad():
        scores = model.eval()(torch.as_tensor(x)[None])[0]
    top = int(scores.argmax())
    assert predicted(model, x) == top
    for name in ("0", "4"):
        np.testing.assert_array_equal(grad_cam(model, x, name), grad_cam(model, x, name, top))
    np.testing.assert_array_equal(saliency(model, x), saliency(model, x, top))
    # a pooling layer's maps are a valid Grad-CAM layer too (any 4-D output)
    np.testing.assert_allclose(
        grad_cam(model, x, "2", 1), cut_cam(model, x, 2, 1), rtol=1e-5, atol=1e-6
    )


class Branchy(nn.Module):
    """Not a Sequential: a residual add and an in-place ReLU right after the conv (torchvision's
    habit), which must not change the maps Grad-CAM reads."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.body = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        h = self.relu(self.stem(x))
        h = self.relu(self.body(h)) + h
        return self.head(h.mean(dim=(2, 3)))


def test_branched_net_with_in_place_relu_equals_a_hooked_computation():
    torch.manual_seed(5)
    model = Branchy()
    x = np.random.default_rng(1).standard_normal((2, 9, 9)).astype(np.float32)
    assert conv_layer_names(model) == ["stem", "body"]
    for name in ("stem", "body"):
        layer = getattr(model, name)
        # the reference hooks a ReLU-free copy: the maps are the conv's output before the ReLU
        ref = Branchy()
        ref.load_state_dict(model.state_dict())
        ref.relu = nn.ReLU()
        expected = hook_cam(ref, x, getattr(ref, name), 2)
        np.testing.assert_allclose(grad_cam(model, x, name, 2), expected, rtol=1e-5, atol=1e-6)
        assert not layer._forward_hooks
    np.testing.assert_allclose(saliency(model, x, 0), direct_saliency(ref, x, 0), rtol=1e-5)


def test_wrong_input_unknown_layer_and_class_are_sentences():
    torch.manual_seed(0)
    model = arch.build("conv3k3-relu-flat-fc", (1, 8, 8), 4)
    x = np.zeros((1, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"one image shaped \(channels, height, width\)"):
        grad_cam(model, np.zeros((8, 8)), "0")
    with pytest.raises(ValueError, match="does not run on a 3 × 8 × 8 input"):
        saliency(model, np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="no layer named 'conv9'; its conv layers are: 0"):
        grad_cam(model, x, "conv9")
    with pytest.raises(ValueError, match="has 4 classes .0 to 3.; there is no class 4"):
        grad_cam(model, x, "0", 4)
    with pytest.raises(ValueError, match="no class -1"):
        saliency(model, x, -1)
    with pytest.raises(ValueError, match="stack of maps"):
        grad_cam(model, x, "3")  # the linear layer
    assert untouched(model, True)


def test_two_sessions_on_one_shared_model_get_their_own_maps():
    """Streamlit sessions are threads: a model cached for everyone may run in two at once; each
    call's hook keeps only its own thread's maps."""
    from concurrent.futures import ThreadPoolExecutor

    torch.manual_seed(6)
    model = arch.build("conv4k3p1-relu-max2-conv4k3-relu-flat-fc", (1, 16, 16), 3).eval()
    xs = [np.random.default_rng(i).random((1, 16, 16), dtype=np.float32) for i in range(16)]
    alone = [grad_cam(model, x, "3", 1) for x in xs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda x: grad_cam(model, x, "3", 1), xs * 3))
    for got, want in zip(together, alone * 3):
        np.testing.assert_array_equal(got, want)
    assert untouched(model, False)
