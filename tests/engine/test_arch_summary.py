"""The one walker (cnnviz.arch.summary): the table of a spec, computed from its settings, is the
table of the module it builds, run through torch (hooked as a chain, or traced as a graph when
wrapped); the code text of every row is its module's; the receptive-field step is shapes'."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from cnnviz import arch
from cnnviz.arch.summary import FLAT, START, UNKNOWN, Op, advance, merge, walk
from cnnviz.receptive_field import grow_field, receptive_field

COUNTED = ("out_shape", "in_shape", "weights", "biases", "params", "macs", "ops")


def numbers(row) -> tuple:
    return tuple(getattr(row, name) for name in (*COUNTED, "receptive_field", "size_formula"))


class Wrapped(nn.Module):
    """Not a Sequential, so the table follows its torch.fx graph instead of hooks."""

    def __init__(self, body: nn.Sequential):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x)


def same_tables(spec: str, shape: tuple, n_classes: int) -> None:
    from_spec = arch.summarize(spec, shape, n_classes)
    model = arch.build(spec, shape, n_classes)
    hooked = arch.summarize(model, shape)
    assert [numbers(r) for r in from_spec] == [numbers(r) for r in hooked]
    assert [r.kind for r in from_spec] == [r.kind for r in hooked]
    # the code text of each spec row is the code of the module build() made for it
    assert [r.module for r in from_spec] == [arch.module_code(m) for m in model]
    if not any(r.kind == "res" for r in from_spec):  # a block is one row hooked, five traced
        traced = arch.summarize(Wrapped(model), shape)
        assert [numbers(r) for r in from_spec] == [numbers(r) for r in traced]


@pytest.mark.parametrize("name", list(arch.PRESETS))
def test_preset_table_is_the_built_modules_table(name):
    same_tables(arch.PRESETS[name], (3, 32, 32), 10)


@pytest.mark.parametrize(
    "spec",
    [
        "conv4k3p1-res4-res8k5-gap-flat-fc",
        "conv4k3s2d2-bn-lrelu0.2-max3s2p1-avg2-drop0-gelu-conv3k1-gap-flat-bn-sigmoid-fc5-tanh-fc",
    ],
)
def test_every_kind_table_is_the_built_modules_table(spec):
    same_tables(spec, (2, 24, 24), 4)


TOKENS = [
    "conv4k3",
    "conv6k3p1",
    "conv3k3s2",
    "conv5k3d2p2",
    "conv2k1",
    "relu",
    "lrelu0.1",
    "tanh",
    "max2",
    "max3s1p1",
    "avg2",
    "bn",
    "drop0.2",
    "res4",
    "res3k5",
]


@given(
    body=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5),
    head=st.sampled_from(["flat-fc", "gap-flat-fc", "flat-fc8-relu-fc", "gap-flat-bn-fc"]),
    side=st.integers(8, 24),
    channels=st.integers(1, 3),
)
def test_random_small_specs_have_one_table(body, head, side, channels):
    spec = "-".join([*body, head])
    shape = (channels, side, side)
    try:
        arch.check(spec, shape, 3)
    except arch.ArchError:
        return  # a stack that does not fit this input: nothing to build
    same_tables(spec, shape, 3)


def test_code_text_comes_from_the_module():
    assert (
        arch.module_code(nn.Conv2d(1, 8, 3, padding=1))
        == "nn.Conv2d(1, 8, kernel_size=3, padding=1)"
    )
    assert (
        arch.module_code(nn.MaxPool2d(3, 2, 1))
        == "nn.MaxPool2d(kernel_size=3, stride=2, padding=1)"
    )
    assert arch.module_code(nn.Dropout(0.0)) == "nn.Dropout(p=0)"
    assert arch.module_code(nn.LeakyReLU(0.0)) == "nn.LeakyReLU(0)"
    assert arch.module_code(nn.BatchNorm1d(7)) == "nn.BatchNorm1d(7)"
    assert arch.module_code(arch.ResidualBlock(3, 8, 5)) == "ResidualBlock(3, 8, 5)"


def test_layer_of_reads_back_what_the_table_built():
    layers = arch.parse("conv4k3s2p1d2-bn-lrelu0.2-max3s2p1-avg2-drop0.3-res4k5-gap-flat-fc9")
    model = arch.build(layers, (1, 32, 32), 9)
    assert [arch.layer_of(m) for m in model] == layers


def test_grow_field_is_the_recurrence():
    assert grow_field((1, 1), (1, 1), 3) == ((3, 3), (1, 1))
    assert grow_field((3, 3), (1, 1), 2, 2) == ((4, 4), (2, 2))
    assert grow_field((4, 4), (2, 2), 3, 1, 2) == ((12, 12), (2, 2))
    assert grow_field((5, 5), (2, 4), (3, 1), (1, 2)) == ((9, 5), (2, 8))
    layers = [dict(kernel_size=3), dict(kernel_size=2, stride=2), dict(kernel_size=3, dilation=2)]
    assert [(r.size, r.jump) for r in receptive_field(layers)] == [
        ((3, 3), (1, 1)),
        ((4, 4), (2, 2)),
        ((12, 12), (2, 2)),
    ]


def op(kind, in_shape, out_shape, windows=()) -> Op:
    return Op(0, kind, kind, kind, in_shape, out_shape, (0, 0, 0, ""), (0, 0, ""), None, windows)


def test_advance_and_merge():
    field = advance(START, op("conv", (1, 8, 8), (2, 6, 6), ((3, 1, 1),)))
    assert field == ((3, 3), (1, 1))
    assert advance(field, op("gap", (2, 6, 6), (2, 1, 1))) == ((8, 8), (1, 1))
    assert advance(field, op("relu", (2, 6, 6), (2, 6, 6))) == field
    assert advance(field, op("other", (2, 6, 6), (2, 3, 3))) == UNKNOWN
    assert advance(field, op("flatten", (2, 6, 6), (72,))) == FLAT
    assert advance(UNKNOWN, op("conv", (2, 6, 6), (2, 4, 4), ((3, 1, 1),))) == UNKNOWN
    assert merge([((3, 3), (1, 1)), ((5, 5), (2, 2)), None]) == ((5, 5), (2, 2))
    assert merge([((3, 3), (1, 1)), UNKNOWN]) == UNKNOWN
    assert merge([FLAT, None]) == FLAT
    rows = walk([op("conv", (1, 8, 8), (2, 6, 6), ((3, 1, 1),)), op("flatten", (2, 6, 6), (72,))])
    assert [r.receptive_field for r in rows] == [3, None]


def test_a_shared_module_is_counted_once():
    conv = nn.Conv2d(2, 2, 3, padding=1)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv

        def forward(self, x):
            return self.conv(self.conv(x))

    rows = arch.summarize(Twice(), (2, 8, 8))
    assert [r.params for r in rows] == [38, 0]
    assert rows[1].params_formula.startswith("shared")
    assert [r.receptive_field for r in rows] == [3, 5]
