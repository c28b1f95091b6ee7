"""Backprop in a real browser: a student edits the 4×4 input and the 2×2 kernel, picks a
weight and a pixel, and reads gradients and the update that equal torch autograd's."""

import numpy as np
import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from cnnviz import backprop as bp
from cnnviz.kernels import parse_kernel

X = "2 0 1 3; 1 -1 0 2; 0 2 1 1; 3 1 -2 0"
K = "0.5 1; -1 2"


def torch_grads(x_text: str, k_text: str):
    x = torch.tensor(parse_kernel(x_text)[None], requires_grad=True)
    w = torch.tensor(parse_kernel(k_text)[None, None], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    target = torch.tensor(parse_kernel(bp.DEFAULT_TARGET))
    loss = ((F.conv2d(x[None], w, b)[0, 0] - target) ** 2).sum()
    loss.backward()
    return loss.item(), x.grad[0].numpy(), w.grad[0, 0].numpy(), b.grad.item()


def type_grid(page, key: str, text: str) -> None:
    box = page.locator(f".st-key-{key} textarea")
    box.fill(text)
    box.press("Control+Enter")  # a text area commits on Ctrl+Enter (or on leaving it)


def test_student_edits_input_and_kernel_and_follows_a_gradient(server, page, wait_idle):
    page.goto(server + "/backprop")
    errors = wait_idle(page, 90_000)  # the first visit imports the page's modules
    expect(page.locator(".st-key-eq_loss")).to_contain_text("= 69")
    type_grid(page, "x0", X)
    expect(page).to_have_url(__import__("re").compile(r"x0="), timeout=15_000)
    wait_idle(page)
    type_grid(page, "k0", K)
    expect(page).to_have_url(__import__("re").compile(r"k0="), timeout=15_000)
    wait_idle(page)
    loss, gx, gw, gb = torch_grads(X, K)
    expect(page.locator(".st-key-eq_loss")).to_contain_text(f"= {bp.fmt(loss)}")
    expect(page.locator(".st-key-eq_db")).to_contain_text(f"= {bp.fmt(gb)}")
    # pick weight (2, 1): its gradient, written out, ends with torch's number
    row = page.locator(".st-key-wr input")
    row.fill("2")
    row.press("Enter")
    expect(page.locator(".st-key-eq_dw")).to_contain_text("dL/dW[2,1] =", timeout=15_000)
    wait_idle(page)
    expect(page.locator(".st-key-eq_dw")).to_contain_text(f"= {bp.fmt(gw[1, 0])}")
    w_new = parse_kernel(K)[1, 0] - np.float32(bp.DEFAULT_LR) * gw[1, 0]
    expect(page.locator(".st-key-eq_update")).to_contain_text(f"= {bp.fmt(w_new)}")
    # pick pixel (3, 2): its gradient is torch's x.grad there
    for key, v in (("xr", "3"), ("xc", "2")):
        box = page.locator(f".st-key-{key} input")
        box.fill(v)
        box.press("Enter")
        wait_idle(page)
    expect(page.locator(".st-key-eq_dx")).to_contain_text("dL/dx[3,2] =", timeout=15_000)
    expect(page.locator(".st-key-eq_dx")).to_contain_text(f"= {bp.fmt(gx[2, 1])}")
    assert not page.locator("[data-testid='stException']").count()
    assert not errors


def test_bad_text_in_a_grid_gives_a_sentence(server, page, wait_idle):
    page.goto(server + "/backprop")
    wait_idle(page, 90_000)
    type_grid(page, "k0", "1 2; x")
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("Kernel W could not be read", timeout=15_000)
    assert not page.locator("[data-testid='stException']").count()


def test_ideas_page_adamw_table(server, page, wait_idle):
    page.goto(server + "/ideas?topic=Adam+%2B+L2+vs+AdamW")
    wait_idle(page)
    expect(page.locator(".st-key-eq_adamw")).to_contain_text("After 5 steps, weight 1")
    assert not page.locator("[data-testid='stException']").count()


def test_residual_block_in_the_editor_and_in_a_training_run(server, page, wait_idle):
    from cnnviz.arch import residual as res

    page.goto(server + "/ideas?topic=Residual+connections&depth=6&rsteps=3")
    wait_idle(page, 90_000)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("res8k3-res8k3-res8k3")
    page.locator(".st-key-rtrain button").click()
    expect(page.locator(".st-key-eq_residual")).to_contain_text(
        "First conv's gradient", timeout=60_000
    )
    wait_idle(page)
    r = res.gradient_run(res.residual_spec(6), 3)
    expect(page.locator(".st-key-eq_residual")).to_contain_text(
        f"residual {r.grad_norms[0, 0]:.3g}"
    )
    # the residual net opens in the Train page's architecture editor
    page.locator("a", has_text="Train the residual net on the Train page").click()
    expect(page).to_have_url(
        __import__("re").compile(r"/train\?(?=.*res8k3)(?=.*step=Architecture)"), timeout=30_000
    )
    wait_idle(page, 90_000)
    expect(main).to_contain_text("Residual block", timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
