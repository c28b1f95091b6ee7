"""Residual blocks: the spec text, the table, the built module and its code, and a training run
where the deep plain stack's first gradients vanish and the residual one's do not."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cnnviz import arch
from cnnviz.arch import residual as res

torch.set_num_threads(1)


@given(
    cin=st.integers(1, 4),
    c=st.integers(1, 6),
    k=st.sampled_from([1, 3, 5]),
    size=st.integers(5, 12),
)
def test_res_block_table_matches_the_built_module(cin, c, k, size):
    spec = f"res{c}k{k}-gap-flat-fc"
    rows = arch.summarize(spec, (cin, size, size), 3)
    model = arch.build(spec, (cin, size, size), 3)
    block = model[0]
    assert isinstance(block, arch.ResidualBlock)
    assert rows[0].params == sum(p.numel() for p in block.parameters())
    x = torch.randn(2, cin, size, size)
    assert tuple(block(x).shape[1:]) == rows[0].out_shape == (c, size, size)
    # the block is relu(conv2(relu(conv1(x))) + skip(x)), written out with torch.nn.functional
    F = torch.nn.functional
    skip = x if cin == c else F.conv2d(x, block.skip.weight, block.skip.bias)
    inner = F.relu(F.conv2d(x, block.conv1.weight, block.conv1.bias, padding=k // 2))
    want = F.relu(F.conv2d(inner, block.conv2.weight, block.conv2.bias, padding=k // 2) + skip)
    torch.testing.assert_close(block(x), want)
    assert rows[0].receptive_field == 1 + 2 * (k - 1)


def test_spec_text_round_trip_and_module_summary():
    spec = "conv8k3p1-relu-res8k3-res16k5-gap-flat-fc"
    layers = arch.parse(spec)
    assert arch.to_text(layers) == spec
    assert arch.parse("conv8k3p1-relu-residual8-resblock16k5-gap-flat-fc") == layers
    model = arch.build(spec, (1, 16, 16), 10)
    from_spec = arch.summarize(spec, (1, 16, 16), 10)
    from_model = arch.summarize(model, (1, 16, 16))
    assert [r.params for r in from_spec] == [r.params for r in from_model]
    assert [r.receptive_field for r in from_spec] == [r.receptive_field for r in from_model]
    assert from_model[2].name == "res8k3" and "projection" in from_spec[3].params_formula


def test_exported_code_runs_and_has_the_same_parameters():
    spec = "conv4k3p1-relu-res8-gap-flat-fc"
    code = arch.to_code(spec, (1, 12, 12), 3)
    assert "class ResidualBlock(nn.Module):" in code
    namespace: dict = {}
    exec(compile(code, "<export>", "exec"), namespace)  # the user's copy-paste
    model = arch.build(spec, (1, 12, 12), 3)
    assert sum(p.numel() for p in namespace["model"].parameters()) == sum(
        p.numel() for p in model.parameters()
    )


@pytest.mark.parametrize(
    "spec, words",
    [
        ("res", "needs its number of filters"),
        ("res8k4-flat-fc", "odd kernel"),
        ("flat-res8-fc", "needs a feature map"),
        ("res8k9-flat-fc", "between 1 and 7"),
    ],
)
def test_impossible_blocks_are_a_sentence(spec, words):
    with pytest.raises(arch.ArchError, match=words):
        arch.check(spec, (1, 12, 12), 3)


def test_deep_plain_stack_gradients_vanish_skips_keep_them():
    depth = 12
    plain = res.gradient_run(res.plain_spec(depth), steps=3)
    resid = res.gradient_run(res.residual_spec(depth), steps=3)
    assert plain.grad_norms.shape == resid.grad_norms.shape == (3, depth + 1)
    # the first conv's gradient: far smaller without skips (same seed, data, depth)
    assert resid.grad_norms[0, 0] > 100 * plain.grad_norms[0, 0]
    # in the plain stack it shrinks layer by layer towards the input
    assert plain.grad_norms[0, 0] < plain.grad_norms[0, -1]
    assert np.isfinite(plain.losses).all() and np.isfinite(resid.losses).all()


def test_the_trainer_trains_a_net_with_residual_blocks_and_saves_it():
    """The Train page's trainer: snapshots (activations, gradient stats per layer) and a
    checkpoint that loads back into the same numbers."""
    import time

    from cnnviz import checkpoint, data
    from cnnviz.training import Gate, TrainConfig, Trainer

    ds = data.builtin("digits").subset(64, seed=0)
    spec = "conv4k3p1-relu-res4-res8-gap-flat-fc"
    t = Trainer(ds, spec, TrainConfig(epochs=1, batch_size=32, lr=1e-2), gate=Gate(1))
    t.start()
    deadline = time.monotonic() + 60
    while t.status not in ("finished", "failed", "stopped") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert t.status == "finished", t.status
    snap = t.snapshot()
    names = [s.name for s in snap.stats]
    assert "res4k3" in names and "res8k3" in names
    assert all(s.grads is not None for s in snap.stats)
    meta = {"arch": spec, "input_shape": list(ds.input_shape), "classes": list(ds.classes)}
    weights, meta_bytes = checkpoint.save(t.model, meta)
    model, _ = checkpoint.load(weights, meta_bytes)
    x = torch.zeros(1, *meta["input_shape"])
    t.model.eval()
    torch.testing.assert_close(model(x), t.model(x))
