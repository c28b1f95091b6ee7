"""Backprop and Ideas pages (AppTest): default and edge settings, numbers equal to torch
autograd's, bad grid text gives a sentence, links carry the settings."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz import backprop as bp
from cnnviz.kernels import parse_kernel

PAGE = "pages/backprop.py"
IDEAS = "pages/ideas.py"


def clean(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def equation(at, start: str) -> str:
    """The one written-out line that starts with `start` (HTML removed)."""
    lines = [re.sub(r"<[^>]+>", "", m.value) for m in at.markdown if m.value.startswith("<div")]
    found = [ln for ln in lines if ln.startswith(start)]
    assert len(found) == 1, (start, lines)
    return found[0]


def value(line: str) -> float:
    """The result: after the last '= ' (a zero may be followed by ': why')."""
    return float(line.rsplit("= ", 1)[1].split(":")[0])


def torch_step(x, w, b, target, lr, pool="none", **conv):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w[None], requires_grad=True)
    bt = torch.tensor([b], requires_grad=True)
    y = F.conv2d(xt[None], wt, bt, **conv)
    y.retain_grad()
    z = {
        "none": lambda t: t,
        "max": lambda t: F.max_pool2d(t, 2),
        "avg": lambda t: F.avg_pool2d(t, 2),
    }[pool](y)
    loss = ((z - torch.tensor(target)) ** 2).sum()
    loss.backward()
    torch.optim.SGD([wt, bt], lr=lr).step()
    return loss.item(), y.grad[0, 0].numpy(), xt.grad.numpy(), wt.grad, wt.detach().numpy()


def test_default_every_number_is_torchs(open_page):
    at = open_page(PAGE)
    clean(at)
    x = parse_kernel(bp.DEFAULT_INPUT[0])[None]
    w = parse_kernel(bp.DEFAULT_KERNEL[0])[None]
    t = parse_kernel(bp.DEFAULT_TARGET)
    loss, gy, gx, gw, new_w = torch_step(x, w, 0.0, t, bp.DEFAULT_LR)
    assert value(equation(at, "L = ")) == loss == 69
    assert value(equation(at, "dL/dy[1,1]")) == gy[0, 0]
    assert value(equation(at, "dL/dW[1,1]")) == gw[0, 0, 0, 0].item() == 26
    assert value(equation(at, "dL/dx[1,1]")) == gx[0, 0, 0]
    assert value(equation(at, "dL/db")) == -2
    assert value(equation(at, "W[1,1] ←")) == pytest.approx(new_w[0, 0, 0, 0], abs=1e-6)
    assert "lower" in equation(at, "With the new W and b")
    # dL/dW as a correlation and dL/dx as a transposed convolution: the same numbers, checked
    same = [m.value for m in at.markdown if "gives the same numbers" in m.value]
    assert len(same) == 2 and not any("DIFFERENT" in m.value for m in at.markdown)


def test_a_link_picks_cells_and_settings(open_page):
    x = "1 2 0 -1; 3 1 2 0; 0 1 3 2; 2 0 1 1"
    k = "0.5 -1; 2 1"
    at = open_page(
        PAGE, x0=x, k0=k, t="1 1 1; 1 1 1; 1 1 1", b="1", lr="0.05", wr="2", wc="1", xr="3", xc="2"
    )
    clean(at)
    xs, ws = parse_kernel(x)[None], parse_kernel(k)[None]
    loss, gy, gx, gw, new_w = torch_step(xs, ws, 1.0, np.ones((3, 3), np.float32), 0.05)
    assert value(equation(at, "dL/dW[2,1]")) == pytest.approx(gw[0, 0, 1, 0].item(), abs=1e-5)
    assert value(equation(at, "dL/dx[3,2]")) == pytest.approx(gx[0, 2, 1], abs=1e-5)
    assert value(equation(at, "W[2,1] ←")) == pytest.approx(new_w[0, 0, 1, 0], abs=1e-5)


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_through_pooling(open_page, pool):
    x = "1 2 0 1 2; 3 1 2 0 1; 0 1 3 2 0; 2 0 1 1 3; 1 1 0 2 2"
    label = {"max": "max pooling", "avg": "average pooling"}[pool]  # the URL holds the label
    at = open_page(PAGE, x0=x, pool=label, t="0 0; 0 0", yr="2", yc="2")
    clean(at)
    xs, ws = parse_kernel(x)[None], parse_kernel(bp.DEFAULT_KERNEL[0])[None]
    loss, gy, gx, gw, _ = torch_step(xs, ws, 0.0, np.zeros((2, 2), np.float32), 0.01, pool)
    assert value(equation(at, "L = ")) == loss
    assert value(equation(at, "dL/dy[2,2]")) == gy[1, 1]
    assert value(equation(at, "dL/dW[1,1]")) == gw[0, 0, 0, 0].item()


def test_three_channels_stride_padding_dilation(open_page):
    at = open_page(PAGE, ch="3", s="2", p="1", d="2", wch="3", xch="2")
    clean(at)
    assert not any("DIFFERENT" in m.value for m in at.markdown)
    assert equation(at, "dL/dW[1,1] (slice 3)")
    assert equation(at, "dL/dx[1,1] (channel 2)")


def test_bad_grid_text_gives_a_sentence(open_page):
    at = open_page(PAGE, x0="1 2; 3", k0="a b", t="1 2 3")
    clean(at)
    notes = " ".join(w.value for w in at.warning)
    assert "Input x could not be read" in notes and "Kernel W could not be read" in notes
    assert "using a target of zeros" in notes
    assert equation(at, "dL/dW[1,1]")  # the page still works, on the defaults


def test_impossible_settings_give_a_red_sentence_not_a_traceback(open_page):
    at = open_page(PAGE, x0="1 2; 3 4", k0="1 2 3; 4 5 6; 7 8 9")
    assert not at.exception
    assert any("larger than the padded input" in e.value for e in at.error)
    at = open_page(PAGE, x0="1e30 1e30; 1e30 1e30", k0="1e30")
    assert any("too large" in e.value for e in at.error)


def test_channels_of_different_sizes(open_page):
    at = open_page(PAGE, ch="2", x1="1 2; 3 4")
    assert not at.exception
    assert any("needs the same size" in e.value for e in at.error)


@pytest.mark.parametrize(
    "topic",
    [
        "Weight sharing",
        "Convolution vs correlation",
        "1×1 convolution",
        "Batch norm",
        "Adam + L2 vs AdamW",
    ],
)
def test_ideas_every_topic_runs(open_page, topic):
    at = open_page(IDEAS, topic=topic)
    clean(at)
    assert any("<div" in m.value for m in at.markdown)


def test_ideas_numbers(open_page):
    at = open_page(IDEAS, topic="Adam + L2 vs AdamW", an="3")
    clean(at)
    p = torch.tensor([2.0, -3.0, 0.5], requires_grad=True)
    opt = torch.optim.AdamW([p], lr=0.1, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        ((torch.tensor([100, 1, 0.01]) * (p - 1) ** 2).sum() / 2).backward()
        opt.step()
    line = equation(at, "After 3 steps, weight 1")
    assert f"AdamW {bp.fmt(p[0].item())}" in line
    at = open_page(IDEAS, topic="Batch norm")
    x = torch.tensor([[[[1.0, 2], [3, 4]]], [[[0.0, 0], [2, 2]]], [[[5.0, 1], [1, 5]]]])
    rm, rv = torch.zeros(1), torch.ones(1)
    F.batch_norm(x, rm, rv, training=True, momentum=0.1)
    assert f"running mean is {bp.fmt(rm.item())}" in equation(at, "After this training batch")
    at = open_page(IDEAS, topic="Weight sharing", down="3", right="-2")
    assert "agree on" in equation(at, "conv(shift(x))")


def test_ideas_bad_text_gives_a_sentence(open_page):
    at = open_page(IDEAS, topic="1×1 convolution", pw="1 2")
    assert not at.exception
    assert any("3 numbers" in e.value for e in at.error)
    at = open_page(IDEAS, topic="Weight sharing", sx="1 2; x")
    assert any("Picture could not be read" in e.value for e in at.error)


def test_ideas_residual_tables_and_a_training_run(open_page):
    at = open_page(IDEAS, topic="Residual connections", depth="6", rsteps="3")
    clean(at)
    assert any("res8k3-res8k3-res8k3" in m.value for m in at.markdown)
    at.button(key="rtrain").click().run(timeout=120)
    clean(at)
    from cnnviz.arch import residual as res

    p = res.gradient_run(res.plain_spec(6), 3)
    r = res.gradient_run(res.residual_spec(6), 3)
    line = equation(at, "First conv's gradient at step 1")
    assert f"plain {p.grad_norms[0, 0]:.3g}, residual {r.grad_norms[0, 0]:.3g}" in line


def test_train_page_editor_shows_residual_blocks(open_page):
    at = open_page(
        "pages/train.py", arch="conv8k3p1-relu-res8k3-res16k3-gap-flat-fc", step="Architecture"
    )
    clean(at)
    titles = [m.value for m in at.markdown if "Residual block" in m.value]
    assert any("`res16k3` → 16 × " in t for t in titles), titles
