"""cnnviz.unit_field: the input box of a unit is the bounding box of the support of that unit's
input gradient (weights all positive, a positive input: no gradient cancels), and its unclipped
size is the layer table's receptive field, on random chains and through residual branches."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnnviz import arch
from cnnviz.arch.reference import reference_model
from cnnviz.unit_field import unit_field


def positive(model: nn.Module) -> nn.Module:
    """Weights 1, biases 0: every path from a pixel to a unit carries a positive number."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.fill_(0.0 if name.endswith("bias") else 1.0)
    return model.eval()


def gradient_box(model: nn.Module, shape, layer: str, row: int, col: int):
    """Bounding box (top, left, bottom, right) of the input pixels whose gradient reaches the
    unit, max pools read as average pools of the same windows (a max passes its gradient to one
    pixel of the window; the field is every pixel it could pick)."""
    probe = nn.Sequential(
        *(
            nn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode)
            if isinstance(m, nn.MaxPool2d)
            else m
            for m in model.children()
        )
    )
    kept = []
    target = dict(probe.named_modules())[layer]
    h = target.register_forward_hook(lambda m, i, o: kept.append(o))
    x = (torch.rand((1, *shape)) + 0.5).requires_grad_(True)
    probe(x)
    h.remove()
    kept[-1][0, 0, row, col].backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    return rows.min(), cols.min(), rows.max(), cols.max()


@st.composite
def chains(draw):
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 4))
        layers += [
            nn.Conv2d(
                2,
                2,
                k,
                stride=draw(st.integers(1, 3)),
                padding=draw(st.integers(0, 2)),
                dilation=draw(st.integers(1, 2)),
            ),
            nn.ReLU(),
        ]
        if draw(st.booleans()):
            pk = draw(st.integers(2, 3))
            pool = draw(st.sampled_from([nn.MaxPool2d, nn.AvgPool2d]))
            layers.append(pool(pk, draw(st.integers(1, 3)), draw(st.integers(0, pk // 2))))
    shape = (2, draw(st.integers(9, 24)), draw(st.integers(9, 24)))
    return positive(nn.Sequential(*layers)), shape


@settings(max_examples=15, deadline=None)
@given(chains(), st.data())
def test_input_box_is_the_gradient_support_and_size_the_table_field(chain, data):
    model, shape = chain
    try:
        rows = arch.summarize(model, shape)
    except arch.ArchError:  # a window larger than its map
        assume(False)
    i = data.draw(st.integers(0, len(model) - 1))
    _, h, w = rows[i].out_shape
    r, c = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    try:
        boxes = unit_field(model, shape, str(i), r, c)
    except ValueError as err:  # a unit whose windows lie in the padding
        assert "only the padding" in str(err)
        return
    first, last = boxes[0], boxes[-1]
    assert first.layer == "input" and first.shape == shape
    assert (last.layer, last.shape, last.top, last.left, last.bottom, last.right) == (
        str(i),
        rows[i].out_shape,
        r,
        c,
        r,
        c,
    )
    assert [b.layer for b in boxes] == ["input", *(str(j) for j in range(i + 1))]
    for b, row in zip(boxes[1:], rows):
        assert b.shape == row.out_shape
        assert 0 <= b.top <= b.bottom < b.shape[1] and 0 <= b.left <= b.right < b.shape[2]
    box = (first.top, first.left, first.bottom, first.right)
    assert box == gradient_box(model, shape, str(i), r, c)
    rf = rows[i].receptive_field
    assert first.size == ((rf, rf) if isinstance(rf, int) else rf)


def test_residual_branches_and_a_global_pool():
    torch.manual_seed(0)
    model = positive(arch.build("conv2k3s2-relu-res2k5-max2-res3-gap-flat-fc", (1, 20, 20), 3))
    rows = arch.summarize(model, (1, 20, 20))
    for i, r, c in ((2, 0, 0), (2, 4, 7), (4, 2, 1), (4, 3, 3)):
        boxes = unit_field(model, (1, 20, 20), str(i), r, c)
        # the block's own convs appear with their boxes, in the order the net runs them
        names = [b.layer for b in boxes]
        assert names[:4] == ["input", "0", "1", "2.conv1"] and names[-1] == str(i)
        first = boxes[0]
        want = (first.top, first.left, first.bottom, first.right)
        assert want == gradient_box(model, (1, 20, 20), str(i), r, c)
        assert first.size == (rows[i].receptive_field,) * 2
    whole = unit_field(model, (1, 20, 20), "5", 0, 0)
    # the global pool sees every pixel the first conv reads: its stride 2 never reaches row 19
    assert (whole[0].top, whole[0].left, whole[0].bottom, whole[0].right) == (0, 0, 18, 18)
    assert (0, 0, 18, 18) == gradient_box(model, (1, 20, 20), "5", 0, 0)


def test_resnet50_last_stage_sees_427_pixels():
    model = reference_model("resnet50", device="meta")
    boxes = unit_field(model, (3, 224, 224), "layer4.2.relu", 3, 3)
    assert boxes[0].size == (427, 427)
    assert (boxes[0].top, boxes[0].left, boxes[0].bottom, boxes[0].right) == (0, 0, 223, 223)
    assert boxes[-1].shape == (2048, 7, 7) and boxes[-1].kind == "ReLU"
    # the shared ReLU module of a bottleneck runs three times: each run has its box
    assert [b.layer for b in boxes].count("layer4.2.relu") == 3


def test_wrong_requests_are_sentences():
    model = positive(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(16, 2)))
    with pytest.raises(ValueError, match="no layer named 'x'"):
        unit_field(model, (1, 6, 6), "x", 0, 0)
    with pytest.raises(ValueError, match="gives no feature map"):
        unit_field(model, (1, 6, 6), "2", 0, 0)
    with pytest.raises(ValueError, match="4 × 4 maps: row 0 to 3, column 0 to 3; there is no"):
        unit_field(model, (1, 6, 6), "0", 4, 0)
    with pytest.raises(ValueError, match="does not run on a 1 × 5 × 5 input"):
        unit_field(model, (1, 5, 5), "0", 0, 0)
    padded = positive(nn.Sequential(nn.Conv2d(1, 1, 1, padding=2)))
    with pytest.raises(ValueError, match="only the padding"):
        unit_field(padded, (1, 3, 3), "0", 0, 0)
