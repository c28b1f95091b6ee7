"""Activations in a real browser: type scores, read the probability the engine computes."""

import numpy as np
from playwright.sync_api import expect

import cnnviz


def test_student_types_scores_and_reads_softmax(server, page, wait_idle):
    page.goto(server + "/activations")
    errors = wait_idle(page)
    box = page.locator(".st-key-logits input")
    box.fill("4 0 -1")
    box.press("Enter")
    p = cnnviz.softmax(np.array([4.0, 0.0, -1.0]))
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text(f"= {p[0]:.4f}")
    expect(main).to_contain_text(f"loss = −log p(class 0) = {-np.log(p[0]):.4f}")
    assert "logits=4+0+-1" in page.url or "logits=4%200%20-1" in page.url
    assert not errors


def test_relu_has_no_upper_limit_on_screen(server, page, wait_idle):
    page.goto(server + "/activations?x=7.5")
    wait_idle(page)
    table = page.locator("[data-testid='stMain'] table").first
    expect(table).to_contain_text("ReLU")
    expect(table).to_contain_text("7.5000")
