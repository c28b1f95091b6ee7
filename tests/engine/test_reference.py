"""The reference nets (plain torch, random weights, nothing downloaded) and the layer table of a
module that branches: parameter totals as torchvision publishes them, receptive fields as the
literature gives them, and on random branched nets the field checked against autograd."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnviz import arch
from cnnviz.arch.reference import NAMES, reference_model

PARAMS = {"lenet5": 61_706, "alexnet": 61_100_840, "vgg16": 138_357_544, "resnet50": 25_557_032}


def table(name):
    shape = (1, 28, 28) if name == "lenet5" else (3, 224, 224)
    return arch.summarize(reference_model(name, device="meta"), shape)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_totals_are_torchvisions(name):
    model = reference_model(name, device="meta")
    assert sum(p.numel() for p in model.parameters()) == PARAMS[name]
    assert sum(r.params for r in table(name)) == PARAMS[name]


def test_reference_model_has_seeded_random_weights_and_a_clear_refusal():
    a, b = reference_model("lenet5", seed=1), reference_model("lenet5", seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not a.training
    assert reference_model("resnet50")(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)
    with pytest.raises(ValueError, match="not a reference model"):
        reference_model("resnet18")


def test_receptive_fields_of_the_classics():
    pools = [r.receptive_field for r in table("alexnet") if r.kind == "maxpool"]
    assert pools[-1] == 195  # AlexNet pool5
    pools = [r.receptive_field for r in table("vgg16") if r.kind == "maxpool"]
    assert pools == [6, 16, 44, 100, 212]  # VGG16 pool1..pool5
    rows = table("resnet50")
    last_stage = [r for r in rows if r.out_shape == (2048, 7, 7)]
    # the parallel downsample conv is a branch, not one more layer in the chain
    assert last_stage[-1].receptive_field == 427
    assert max(r.receptive_field for r in last_stage) == 427
    downsample = [r for r in rows if r.name == "Conv2d" and r.out_shape == (256, 56, 56)][0]
    assert downsample.receptive_field == 11  # stem conv 7 + max pool 3 (jump 2): 7 + 2·2


def test_resnet50_multiply_adds_are_half_of_torchs_flop_count():
    model = reference_model("resnet50", device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 224, 224, device="meta"))
    rows = table("resnet50")
    assert counter.get_total_flops() == 2 * sum(r.macs for r in rows)
    assert sum(r.macs for r in rows) == 4_089_184_256  # the "4.1 GMACs" usually quoted


# ---------------------------------------------------------------- random branched nets


class Branched(nn.Module):
    """Two branches from one input, merged by add or cat, then one more conv: a main branch of
    size-keeping convs ending in a strided conv, a shortcut of one conv or average pool with
    the same stride (odd kernels, padding (k - 1)·d / 2, so the two shapes agree)."""

    def __init__(self, main, short, stride, merge, short_pool):
        super().__init__()
        layers, c = [], 2
        for k, d in main:
            layers += [nn.Conv2d(c, 3, k, padding=(k - 1) * d // 2, dilation=d), nn.Tanh()]
            c = 3
        self.main = nn.Sequential(*layers)
        self.down = nn.Conv2d(c, 3, 3, stride=stride, padding=1)
        k = short
        if short_pool:  # keeps the 2 input channels: only a cat can merge it
            self.short = nn.AvgPool2d(k, stride, padding=(k - 1) // 2)
            merge = "cat"
        else:
            self.short = nn.Conv2d(2, 3, k, stride=stride, padding=(k - 1) // 2)
        self.merge = merge
        self.head = nn.Conv2d(3 + (2 if short_pool else 3) if merge == "cat" else 3, 1, 3)

    def forward(self, x):
        a = self.down(self.main(x))
        b = self.short(x)
        y = torch.cat([a, b], 1) if self.merge == "cat" else a + b
        return self.head(torch.tanh(y))


def gradient_extent(model, size):
    """Rows and columns of the input that one output unit near the centre depends on."""
    x = torch.randn(1, 2, size, size, dtype=torch.float64, requires_grad=True)
    out = model(x)
    _, _, h, w = out.shape
    out[0, 0, h // 2, w // 2].backward()
    hit = x.grad[0].abs().sum(0) > 0
    rows = torch.nonzero(hit.any(1)).flatten()
    cols = torch.nonzero(hit.any(0)).flatten()
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


@settings(max_examples=25, deadline=None)
@given(
    main=st.lists(st.tuples(st.sampled_from([1, 3, 5]), st.integers(1, 2)), min_size=1, max_size=3),
    short=st.sampled_from([1, 3, 5, 7, 9]),
    stride=st.integers(1, 3),
    merge=st.sampled_from(["add", "cat"]),
    short_pool=st.booleans(),
    seed=st.integers(0, 10),
)
def test_field_of_a_branched_net_is_the_input_gradients_support(
    main, short, stride, merge, short_pool, seed
):
    torch.manual_seed(seed)
    model = Branched(main, short, stride, merge, short_pool).double().eval()
    rows = arch.summarize(model, (2, 96, 96))
    field = rows[-1].receptive_field
    assert rows[-1].name == "Conv2d" or rows[-1].name.startswith("conv")
    # 96 px and a centre unit: the field (at most 1 + 3·4·2 + 2 + 2·3 = 33) lies inside the
    # image, no padding at its edges (64 px was too few for the largest, found by hypothesis)
    assert field < 96 // 2
    assert gradient_extent(model, 96) == (field, field)
