"""The Activations page (AppTest): values and probabilities come from the engine."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import cnnviz

PAGE = "pages/activations.py"


@pytest.fixture
def run(open_page):
    return lambda **params: open_page(PAGE, **params)


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_value_table_uses_the_engine(run):
    at = run(x="-2")
    text = markdown(at)
    assert f"| ReLU | {cnnviz.relu(np.array([-2.0]))[0]:.4f} |" in text
    assert f"| Sigmoid | {cnnviz.sigmoid(np.array([-2.0]))[0]:.4f} |" in text


def test_leaky_relu_slope_from_the_url(run):
    at = run(fns=["Leaky ReLU"], slope="0.2", x="-3")
    assert "| Leaky ReLU | -0.6000 |" in markdown(at)


def test_softmax_probability_and_loss(run):
    at = run(logits="3 1 -2", target="1", t="2.0")
    z = np.array([3.0, 1.0, -2.0]) / 2.0
    p = cnnviz.softmax(z)
    assert f"**{p[1]:.4f}**" in markdown(at)
    assert f"**{-np.log(p[1]):.4f}**" in markdown(at)


def test_extreme_logits_stay_finite(run):
    at = run(logits="1000 0 -1000")
    assert "**1.0000**" in markdown(at) and "nan" not in markdown(at).lower()


def test_malformed_scores_explain_and_fall_back(run):
    at = run(logits="1, two, 3")
    assert "'two' in row 1 is not a number" in at.error[0].value
    p = cnnviz.softmax(np.array([2.0, 1.0, 0.1]))
    assert f"**{p[0]:.4f}**" in markdown(at)
