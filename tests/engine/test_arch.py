"""cnnviz.arch against torch: shapes, parameter counts, FLOPs and receptive fields of every preset
and of random stacks; the spec text round trip; every refusal names the layer and a fix that works."""

import math
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnviz import arch
from cnnviz.arch import ArchError, Layer
from cnnviz.receptive_field import receptive_field

SHAPES = [(1, 28, 28), (3, 32, 32), (1, 20, 20), (3, 64, 64)]


def torch_module(layer: Layer, in_shape: tuple, n_classes: int) -> nn.Module:
    """The oracle's own layer: torch classes straight from the settings (not arch's builder)."""
    a = layer.args
    match layer.kind:
        case "conv":
            return nn.Conv2d(
                in_shape[0],
                a["out_channels"],
                a["kernel_size"],
                stride=a["stride"],
                padding=a["padding"],
                dilation=a["dilation"],
            )
        case "maxpool":
            return nn.MaxPool2d(a["kernel_size"], a["stride"], a["padding"])
        case "avgpool":
            return nn.AvgPool2d(a["kernel_size"], a["stride"], a["padding"])
        case "linear":
            return nn.Linear(in_shape[0], a["out_features"] or n_classes)
        case "batchnorm":
            return (
                nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])
            )
        case "dropout":
            return nn.Dropout(a["p"])
        case "leaky_relu":
            return nn.LeakyReLU(a["negative_slope"])
        case "gap":
            return nn.AdaptiveAvgPool2d((1, 1))
        case "flatten":
            return nn.Flatten()
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}[layer.kind]()


def run_torch(layers, input_shape, n_classes, flop_counter=False):
    """Run the layers one by one on zeros: [(out_shape, n_params, macs)], and the index of the
    layer torch refused (None if all ran). macs of conv/linear layers: torch's own FLOP counter
    (2 per multiply-add) with flop_counter, else weights used per output position."""
    x = torch.zeros(1, *input_shape)
    out = []
    for i, layer in enumerate(layers):
        m = torch_module(layer, tuple(x.shape[1:]), n_classes).eval()
        try:
            with torch.no_grad():
                if flop_counter:
                    with FlopCounterMode(display=False) as counter:
                        x = m(x)
                else:
                    x = m(x)
        except RuntimeError:
            return out, i
        if x.numel() == 0:
            return out, i
        n_params = sum(p.numel() for p in m.parameters())
        if flop_counter:
            macs = counter.get_total_flops() // 2
        elif isinstance(m, nn.Conv2d):
            macs = m.weight.numel() * x.shape[2] * x.shape[3]
        else:
            macs = m.weight.numel() if isinstance(m, nn.Linear) else None
        out.append((tuple(x.shape[1:]), n_params, macs))
    return out, None


def one_sentence(text: str) -> bool:
    """The contract: a refusal is one sentence (no full stop before a new capital)."""
    return text.endswith((".", "?", ")")) and not re.search(r"[.?!] [A-Z]", text)


def assert_matches_torch(spec, input_shape, n_classes=10, flop_counter=False, real=None):
    layers = arch.parse(spec) if isinstance(spec, str) else spec
    rows = arch.summarize(layers, input_shape, n_classes)
    if real is None:
        real, failed = run_torch(layers, input_shape, n_classes, flop_counter)
        assert failed is None
    assert [r.out_shape for r in rows] == [o for o, _, _ in real]
    assert [r.params for r in rows] == [p for _, p, _ in real]
    for r, (_, _, macs) in zip(rows, real):
        if r.kind in ("conv", "linear"):
            assert r.macs == macs and r.ops == 0
        else:
            assert r.macs == 0
    for r in rows:
        assert r.params == r.weights + r.biases
        assert r.params_formula.endswith(f"= {r.params}") or r.params == 0
        assert r.in_shape
    return rows


@pytest.mark.parametrize("name", list(arch.PRESETS))
@pytest.mark.parametrize("shape", SHAPES)
def test_presets_match_torch(name, shape):
    # torch's FLOP counter (slow to import, so only here) checks the multiply-add counts
    rows = assert_matches_torch(arch.PRESETS[name], shape, flop_counter=shape == SHAPES[0])
    model = arch.build(arch.PRESETS[name], shape, 10)
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == sum(r.params for r in rows)
    assert len(model) == len(rows)
    # the same table from the built module, through forward hooks
    hooked = arch.summarize(model, shape)
    for a, b in zip(rows, hooked):
        assert (a.out_shape, a.params, a.weights, a.biases, a.macs, a.ops, a.receptive_field) == (
            b.out_shape,
            b.params,
            b.weights,
            b.biases,
            b.macs,
            b.ops,
            b.receptive_field,
        )
        assert a.size_formula == b.size_formula
        assert a.name == b.name or (a.name == "fc" and b.name == "fc10")


def test_keras_net_has_the_tutorials_parameter_count():
    # the TensorFlow CNN tutorial's model.summary() on MNIST: 93,322 parameters
    rows = arch.summarize(arch.PRESETS["keras"], (1, 28, 28), 10)
    assert sum(r.params for r in rows) == 93322
    assert [r.out_shape for r in rows if r.kind in ("conv", "maxpool")] == [
        (32, 26, 26),
        (32, 13, 13),
        (64, 11, 11),
        (64, 5, 5),
        (64, 3, 3),
    ]


def test_lenet5_classic_numbers():
    rows = arch.summarize(arch.PRESETS["lenet5"], (1, 28, 28), 10)
    assert sum(r.params for r in rows) == 61706
    conv = rows[0]
    assert conv.params_formula == "6 × 1 × 5 × 5 weights + 6 biases = 156"
    assert conv.size_formula.startswith("height and width: ⌊(28 + 2·2 − 1·(5 − 1) − 1) / 1⌋")
    assert conv.size_formula.endswith("= 28")
    assert rows[3].cost_formula == "1600 outputs × 150 multiply-adds = 240000"


# ---------------------------------------------------------------- random stacks

convs = st.builds(
    lambda c, k, s, p, d: Layer(
        "conv", dict(out_channels=c, kernel_size=k, stride=s, padding=p, dilation=d)
    ),
    st.integers(1, 6),
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 2),
)
pools = st.builds(
    lambda kind, k, s, p: Layer(kind, dict(kernel_size=k, stride=s, padding=min(p, k // 2))),
    st.sampled_from(["maxpool", "avgpool"]),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2),
)
pointwise = st.one_of(
    st.sampled_from([Layer(k) for k in ("relu", "sigmoid", "tanh", "gelu", "batchnorm")]),
    st.builds(lambda s: Layer("leaky_relu", {"negative_slope": s}), st.floats(0, 1)),
    st.builds(lambda p: Layer("dropout", {"p": p}), st.floats(0, 0.9)),
)
spatial = st.lists(st.one_of(convs, pools, pointwise), min_size=1, max_size=7)
dense = st.lists(
    st.one_of(
        st.builds(lambda n: Layer("linear", {"out_features": n}), st.integers(1, 20)), pointwise
    ),
    max_size=4,
)
inputs = st.tuples(st.integers(1, 3), st.integers(4, 24), st.integers(4, 24))


@st.composite
def stacks(draw):
    layers = draw(spatial)
    if draw(st.booleans()):
        layers.append(Layer("gap"))
    layers.append(Layer("flatten"))
    layers += draw(dense)
    layers.append(Layer("linear"))
    return layers


@given(stacks(), inputs, st.integers(2, 12))
def test_random_stacks_match_torch_or_are_refused_where_torch_fails(layers, shape, n_classes):
    real, failed = run_torch(layers, shape, n_classes)
    if failed is not None:
        with pytest.raises(ArchError) as err:
            arch.summarize(layers, shape, n_classes)
        assert err.value.layer == failed
        assert f"Layer {failed + 1} (" in str(err.value)
        assert one_sentence(str(err.value))
        for words, spec in err.value.fixes:  # every offered spec really works
            assert words
            if spec is not None:
                arch.summarize(spec, shape, n_classes)
        return
    rows = assert_matches_torch(layers, shape, n_classes, real=real)
    assert rows[-1].out_shape == (n_classes,)
    model = arch.build(layers, shape, n_classes)
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, *shape)).shape == (1, n_classes)


@given(stacks())
def test_text_round_trip(layers):
    text = arch.to_text(layers)
    assert arch.parse(text) == layers
    assert arch.to_text(arch.parse(text)) == text
    assert all(c.isalnum() or c in "-." for c in text)  # URL-safe without escaping


def test_receptive_field_is_what_a_gradient_reaches():
    """One output unit's gradient on the input spans exactly the receptive field."""
    spec = "conv4k3-relu-avg2-conv4k3d2-avg3s2-conv2k2s2"
    layers = arch.parse(spec)
    size = 64
    model = arch.build(layers + [Layer("flatten"), Layer("linear")], (1, size, size), 3)
    for p in model.parameters():
        nn.init.constant_(p, 0.1)
    rows = arch.summarize(spec, (1, size, size))
    x = torch.ones(1, 1, size, size, requires_grad=True)
    h = x
    for i, row in enumerate(rows):
        h = model[i](h)
        _, _, hh, ww = h.shape
        (grad,) = torch.autograd.grad(h[0, 0, hh // 2, ww // 2], x, retain_graph=True)
        ys, xs = torch.nonzero(grad[0, 0], as_tuple=True)
        seen = (int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1))
        assert seen == (row.receptive_field, row.receptive_field), row.name


# ---------------------------------------------------------------- text


def test_grammar_examples():
    notes = []
    layers = arch.parse("Conv8k3p1 - ReLU, maxpool2 dense64 dropout0.25 lrelu0.2 linear", notes)
    assert arch.to_text(layers) == "conv8k3p1-relu-max2-flat-fc64-drop0.25-lrelu0.2-fc"
    assert notes and "flat" in notes[0]
    assert arch.parse("max3s2p1")[0].args == {"kernel_size": 3, "stride": 2, "padding": 1}
    assert arch.parse("avg2")[0].args["stride"] == 2
    assert arch.parse("gap-fc") == [Layer("gap"), Layer("flatten"), Layer("linear")]
    assert Layer("conv", {"out_channels": 8}) == arch.parse("conv8")[0]
    assert len({Layer("relu"), Layer("relu"), Layer("maxpool", {"kernel_size": 2})}) == 2
    for name, text in arch.PRESETS.items():
        assert arch.to_text(arch.parse(text)) == text, name


@pytest.mark.parametrize(
    "text, words",
    [
        ("conv8-relu-pool2-flat-fc-foo", "'foo' is not a layer"),
        ("conv8-rleu", "did you mean 'relu'"),
        ("conv", "needs its number of filters"),
        ("conv8x", "cannot read '8x'"),
        ("conv8k3k5", "given twice"),
        ("conv8q2", "'q' is not a setting"),
        ("relu2", "takes no settings"),
        ("conv8k99", "kernel_size must be between 1 and 15; it is 99"),
        ("conv0", "between 1 and 512"),
        ("drop50", "did you mean drop0.5"),
        ("fc64.5", "whole number"),
        ("", "empty"),
        ("   -  ", "empty"),
        ("relu-" * 41, "at most 40"),
        ("x" * 500, "at most 400"),
        ("8conv", "does not start with a layer name"),
    ],
)
def test_bad_text_is_refused_with_a_reason(text, words):
    with pytest.raises(ArchError) as err:
        arch.parse(text)
    assert words in str(err.value)
    assert one_sentence(str(err.value))
    assert isinstance(err.value, ValueError)


def test_parse_refuses_non_text():
    with pytest.raises(ArchError, match="must be text"):
        arch.parse(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- impossible nets and caps


def test_three_pools_on_8x8_name_the_layer_and_fixes_that_work():
    spec = "conv8k3-relu-max2-max2-max2-flat-fc"
    with pytest.raises(ArchError) as err:
        arch.build(spec, (1, 8, 8), 10)
    e = err.value
    assert e.layer == 4
    msg = str(e)
    assert msg.startswith("Layer 5 (max2): its 2×2 window does not fit the 1×1 map it gets")
    assert "remove layer 5 (max2)" in msg
    specs = dict(e.fixes)
    assert specs["remove layer 5 (max2)"] == "conv8k3-relu-max2-max2-flat-fc"
    assert "use an input of at least 10×10 pixels" in e.suggestions
    assert arch.min_input_size(spec, (1, 8, 8)) == 10
    arch.build(spec, (1, 10, 10), 10)
    for _, fixed in e.fixes:
        if fixed:
            arch.build(fixed, (1, 8, 8), 10)


def test_conv_too_big_gets_padding_fix():
    with pytest.raises(ArchError) as err:
        arch.summarize("conv4k5-flat-fc", (1, 3, 3))
    assert "kernel 5 is larger than the padded input 3" in str(err.value)
    fixes = dict(err.value.fixes)
    assert fixes["conv4k5p1 instead of conv4k5"] == "conv4k5p1-flat-fc"


def test_pool_padding_over_half_the_window():
    with pytest.raises(ArchError) as err:
        arch.summarize("conv2-max2p2-flat-fc", (1, 9, 9))
    msg = str(err.value)
    assert msg.startswith("Layer 2 (max2p2): its settings do not fit the 7×7 map it gets")
    assert "pooling padding 2 is more than half the window 2" in msg
    assert dict(err.value.fixes)["max2p1 instead of max2p2"] == "conv2k3-max2p1-flat-fc"


def test_receptive_field_agrees_with_the_shapes_module():
    spec = "conv4k5s2p2-relu-max3s2p1-conv4k3d2-bn-avg2-conv2k1"
    rows = arch.summarize(spec, (1, 64, 64))
    spatial = [
        dict(
            kernel_size=L.args["kernel_size"],
            stride=L.args["stride"],
            padding=L.args["padding"],
            dilation=L.args.get("dilation", 1),
        )
        for L in arch.parse(spec)
        if L.kind in ("conv", "maxpool", "avgpool")
    ]
    fields = [r.size[0] for r in receptive_field(spatial)]
    assert [r.receptive_field for r in rows if r.kind in ("conv", "maxpool", "avgpool")] == fields
    assert fields[-1] == 5 + 2 * 2 + 2 * 2 * 4 + 1 * 4 == 29  # r += (k_eff - 1) · jump


def test_layers_after_flatten_and_linear_before_it():
    with pytest.raises(ArchError, match=r"Layer 3 \(conv4k3\).*after the flatten at layer 2"):
        arch.summarize("conv4-flat-conv4-fc", (1, 10, 10))
    with pytest.raises(ArchError) as err:
        arch.summarize([Layer("conv", {"out_channels": 2}), Layer("linear")], (1, 6, 6))
    assert err.value.layer == 1
    assert dict(err.value.fixes)["add flat before it"] == "conv2k3-flat-fc"
    with pytest.raises(ArchError, match="only the last linear layer may leave out its size"):
        arch.summarize("flat-fc-relu-fc", (1, 4, 4))


def test_check_wants_one_score_per_class():
    with pytest.raises(ArchError) as err:
        arch.build("conv4-relu", (1, 8, 8), 10)
    assert "add -flat-fc at the end" in str(err.value)
    arch.build(dict(err.value.fixes)["add -flat-fc at the end"], (1, 8, 8), 10)
    with pytest.raises(ArchError) as err:
        arch.build("conv4-flat-fc64", (1, 8, 8), 3)
    assert "gives 64 scores, but the data has 3 classes" in str(err.value)
    arch.build(err.value.fixes[0][1], (1, 8, 8), 3)
    with pytest.raises(ArchError, match="add -fc at the end"):
        arch.build("conv4-flat", (1, 8, 8), 3)
    assert arch.build("conv3k8-flat", (1, 8, 8), 3)(torch.zeros(1, 1, 8, 8)).shape == (1, 3)


def test_every_refusal_in_this_file_is_one_sentence():
    cases = [
        ("conv8k3-relu-max2-max2-max2-flat-fc", (1, 8, 8), 10),
        ("conv4-flat-conv4-fc", (1, 10, 10), 10),
        ("conv4-relu", (1, 8, 8), 10),
        ("conv4-flat-fc64", (1, 8, 8), 3),
        ("conv64k3p1-flat-fc512-fc", (3, 64, 64), 10),
        ("conv64k3p1-conv128k3p1-gap-fc", (3, 64, 64), 10),
        ("conv2-max2p2-flat-fc", (1, 9, 9), 10),
        ("flat-fc-relu-fc", (1, 4, 4), 10),
    ]
    for spec, shape, n in cases:
        with pytest.raises(ArchError) as err:
            arch.build(spec, shape, n)
        assert one_sentence(str(err.value)), str(err.value)


def test_caps_for_a_classroom_cpu():
    with pytest.raises(
        ArchError, match=r"parameters, more than the 2,000,000 a shared classroom CPU trains"
    ) as e:
        arch.build("conv64k3p1-flat-fc512-fc", (3, 64, 64), 10)
    assert e.value.layer == 2 and "pool" in str(e.value)
    with pytest.raises(ArchError, match="operations per image") as e:
        arch.build("conv64k3p1-conv128k3p1-gap-fc", (3, 64, 64), 10)
    assert e.value.layer == 1
    # the table itself still works for a big net (the page shows it with the refusal)
    rows = arch.summarize("conv64k3p1-conv128k3p1-gap-fc", (3, 64, 64), 10)
    assert sum(r.macs + r.ops for r in rows) > arch.MAX_OPS


@pytest.mark.parametrize(
    "shape, n, words",
    [
        ((1, 28), 10, "three positive numbers"),
        ((1, 0, 4), 10, "three positive"),
        ("abc", 10, "channels, height, width"),
        ((1, 8, 8), 0, "classes"),
        ((1, 8, 8), True, "classes"),
    ],
)
def test_bad_shapes_and_class_counts(shape, n, words):
    with pytest.raises(ArchError, match=words):
        arch.build("conv2-flat-fc", shape, n)


def test_bad_layer_objects():
    with pytest.raises(ArchError, match="not a layer kind"):
        Layer("convolution")
    with pytest.raises(ArchError, match="has no setting"):
        Layer("relu", {"inplace": True})
    with pytest.raises(ArchError, match="is a str, not a Layer"):
        arch.summarize(["conv8"], (1, 8, 8))
    with pytest.raises(ArchError, match="must be between"):
        arch.summarize([Layer("conv", {"out_channels": 9999})], (1, 8, 8))


# ---------------------------------------------------------------- code and plain modules


@pytest.mark.parametrize("name", list(arch.PRESETS))
def test_exported_code_builds_the_same_net(name):
    code = arch.to_code(arch.PRESETS[name], (3, 32, 32), 7)
    scope: dict = {}
    exec(compile(code, "<to_code>", "exec"), scope)  # noqa: S102 - our own generated code
    ours = arch.build(arch.PRESETS[name], (3, 32, 32), 7)
    theirs = scope["model"]
    assert [type(m) for m in theirs] == [type(m) for m in ours]
    assert {k: v.shape for k, v in theirs.state_dict().items()} == {
        k: v.shape for k, v in ours.state_dict().items()
    }
    theirs.load_state_dict(ours.state_dict())
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(theirs.eval()(x), ours.eval()(x))


def test_code_for_every_layer_kind():
    spec = "conv4k3s2p1d1-bn-lrelu0.2-max3s2p1-avg2-drop0.1-gelu-conv3k1-gap-flat-bn-sigmoid-fc5-tanh-fc"
    code = arch.to_code(spec, (2, 20, 20), 4)
    scope: dict = {}
    exec(code, scope)  # noqa: S102
    ours = arch.build(spec, (2, 20, 20), 4)
    assert [repr(m) for m in scope["model"]] == [repr(m) for m in ours]


class Custom(nn.Module):
    """Not a Sequential: blocks, functional ops, a shared module called twice."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1, bias=False), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(5 * 4 * 4, 6)

    def forward(self, x):
        x = self.pool(self.features(x))
        x = self.pool(x)
        return self.head(torch.flatten(x, 1))


def test_summarize_any_module_with_real_shapes():
    model = Custom().train()
    rows = arch.summarize(model, (3, 16, 16))
    assert [r.kind for r in rows] == ["conv", "relu", "maxpool", "maxpool", "linear"]
    assert [r.out_shape for r in rows] == [(5, 16, 16), (5, 16, 16), (5, 8, 8), (5, 4, 4), (6,)]
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    assert rows[0].params_formula == "5 × 3 × 3 × 3 weights = 135"
    assert rows[0].name == "Conv2d"  # no bias: not something the spec text can say
    assert rows[2].receptive_field == 4 and rows[3].receptive_field == 6
    assert rows[4].receptive_field is None
    assert model.training and all(m.training for m in model.modules())
    assert all(not m._forward_hooks for m in model.modules())


def test_summarize_module_that_fails_is_a_sentence():
    model = nn.Sequential(nn.Conv2d(1, 2, 5), nn.Flatten(), nn.Linear(9, 2)).train()
    with pytest.raises(ArchError, match=r"does not run on a 1 × 6 × 6 input"):
        arch.summarize(model, (1, 6, 6))
    assert model.training and all(not m._forward_hooks for m in model.modules())


def test_module_kinds_and_tokens():
    assert arch.module_name(nn.Conv2d(1, 8, 3, padding=1)) == "conv8k3p1"
    assert arch.module_name(nn.MaxPool2d(3, 2, 1)) == "max3s2p1"
    assert arch.module_name(nn.Conv2d(1, 8, (3, 5))) == "Conv2d"
    assert arch.module_kind(nn.AdaptiveAvgPool2d(2)) == "other"
    assert arch.layer_of(nn.Dropout(0.3)) == Layer("dropout", {"p": 0.3})


def test_totals_and_cost_convention():
    rows = arch.summarize("conv2k3-relu-max2-flat-fc", (1, 6, 6), 3)
    t = arch.totals(rows)
    assert t["params"] == 20 + 3 * 8 + 3
    conv = rows[0]
    assert conv.macs == 2 * 4 * 4 * 9 == math.prod(conv.out_shape) * 9 and conv.ops == 0
    # pooling and activations are operations of their own, not multiply-adds
    assert rows[1].ops == 32 and rows[2].ops == 2 * 2 * 2 * 4 and rows[3].ops == 0
    assert rows[1].macs == rows[2].macs == rows[3].macs == 0
    assert t["macs"] == conv.macs + 8 * 3 and t["ops"] == 32 + 32


def test_format_rows_plain_text_table():
    rows = arch.summarize(arch.PRESETS["keras"], (1, 28, 28), 10)
    text = arch.format_rows(rows, (1, 28, 28))
    lines = text.splitlines()
    assert lines[0].split() == ["#", "layer", "output", "params", "MACs", "other", "ops", "field"]
    assert lines[2].split() == ["input", "1", "×", "28", "×", "28"]
    assert lines[3].split() == [
        "1",
        "conv32k3",
        "32",
        "×",
        "26",
        "×",
        "26",
        "320",
        "194,688",
        "0",
        "3",
    ]
    assert lines[-1].startswith("93,322 parameters (93,088 weights + 234 biases)")
    assert "FLOPs per image" not in text and "multiply-adds (MACs" in lines[-1]


def test_lenet5_text_says_it_is_the_modern_form_and_how_1998_differs():
    title, text = arch.PRESET_INFO["lenet5"]
    assert "modern" in title and "1998" in text
    assert "1998:" not in text.split("differs")[0]  # not presented as the 1998 net itself
    for words in (
        "C3",
        "connection table",
        "1.7159·tanh(2x/3)",
        "trainable coefficient",
        "RBF",
        "32×32 input with no padding",
    ):
        assert words in text
    # the numbers it states are the ones the table computes
    rows = arch.summarize(arch.PRESETS["lenet5"], (1, 28, 28), 10)
    assert f"{sum(r.params for r in rows):,} parameters" in text
    c3_full = 16 * 6 * 5 * 5 + 16
    c3_1998 = (6 * 3 + 9 * 4 + 1 * 6) * 5 * 5 + 16  # LeCun et al. 1998, table I
    assert rows[3].params == c3_full
    assert f"{c3_1998:,} parameters instead of {c3_full:,}" in text


@pytest.mark.parametrize("name", list(arch.PRESETS))
def test_macs_are_half_of_torchs_flop_count(name):
    """torch's FlopCounterMode counts 2 FLOPs per multiply-add of a conv or linear layer and
    nothing for pooling or activations: its total is exactly twice the table's MACs."""
    shape = (3, 32, 32)
    model = arch.build(arch.PRESETS[name], shape, 10).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *shape))
    rows = arch.summarize(arch.PRESETS[name], shape, 10)
    t = arch.totals(rows)
    assert counter.get_total_flops() == 2 * t["macs"] == sum(r.flops for r in rows)
    assert t["ops"] > 0  # the pools and activations are counted, in a column of their own


def test_keras_net_on_shapes10_has_the_tutorials_cifar10_numbers():
    """The TensorFlow CNN tutorial on CIFAR-10 (32×32×3, 10 classes): 122,570 parameters."""
    from cnnviz.data import BUILTINS

    assert "shapes10" in BUILTINS  # a built-in set of that shape, made here
    rows = arch.summarize(arch.PRESETS["keras"], (3, 32, 32), 10)
    assert [r.params for r in rows if r.params] == [896, 18496, 36928, 65600, 650]
    assert sum(r.params for r in rows) == 122570
    assert "122,570" in arch.PRESET_INFO["keras"][1]
    # Keras' model.summary() writes height × width × channels
    text = arch.format_rows(rows, (3, 32, 32), order="HWC")
    assert "32 × 32 × 3" in text and "30 × 30 × 32" in text and "4 × 4 × 64" in text
    assert "1024" in text  # a flat vector is the same in both orders
    assert arch.shape_text((64, 4, 4)) == "64 × 4 × 4"
    assert arch.shape_text((64, 4, 4), "HWC") == "4 × 4 × 64"
    with pytest.raises(ValueError, match="order"):
        arch.shape_text((1, 2, 3), "WHC")


def test_every_preset_has_training_defaults_and_says_what_they_reach():
    for name in arch.PRESETS:
        t = arch.PRESET_TRAINING[name]
        from cnnviz.data import BUILTINS

        assert t["data"] in BUILTINS
        assert set(arch.preset_training(name)) == {"optimizer", "lr", "batch_size", "epochs"}
        words = arch.preset_training_text(name)
        assert f"{t['val_acc'] * 100:.0f}\u00a0% validation accuracy on {t['data']}" in words
