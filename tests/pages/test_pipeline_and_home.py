"""The Home pipeline: the engine's stages, and the page that shows them (AppTest)."""

import pathlib

import numpy as np
from streamlit.testing.v1 import AppTest

import cnnviz
from cnnviz.images import sample_image
from cnnviz.pipeline import FILTERS, filter_bank, run_pipeline

APP = str(pathlib.Path(__file__).resolve().parents[2] / "app.py")


def test_stages_chain_the_engine_ops():
    gray = sample_image("cameraman", mode="gray", max_side=64).array
    stages = {s.key: s for s in run_pipeline(gray)}
    assert list(stages) == ["input", "conv", "relu", "pool", "flatten", "dense", "softmax"]
    conv = cnnviz.conv2d(gray[None], filter_bank(), padding="same")
    np.testing.assert_array_equal(stages["conv"].output, conv)
    np.testing.assert_array_equal(stages["relu"].output, np.maximum(conv, 0))
    np.testing.assert_array_equal(stages["pool"].output, cnnviz.max_pool2d(np.maximum(conv, 0), 2))
    assert stages["pool"].shape == (len(FILTERS), 32, 32)  # pooling keeps the channels
    assert stages["flatten"].shape == (len(FILTERS) * 32 * 32,)
    np.testing.assert_allclose(stages["softmax"].output.sum(), 1.0, rtol=1e-6)
    assert (stages["softmax"].output > 0).all()


def test_filter_bank_centres_smaller_kernels():
    bank = filter_bank(("sobel_x", "gaussian_5"))
    assert bank.shape == (2, 1, 5, 5)
    np.testing.assert_array_equal(bank[0, 0, 1:4, 1:4], cnnviz.preset("sobel_x"))
    assert not bank[0, 0, 0].any()


def test_home_page_shows_every_stage_and_links_to_where_to_touch_it():
    at = AppTest.from_file(APP)
    at.run(timeout=60)
    assert not at.exception
    titles = [s.value for s in at.subheader if s.value != "Lessons to share"]  # the gallery
    assert titles[:7] == [
        "Input",
        "Convolution",
        "ReLU",
        "Max pooling",
        "Flatten",
        "Fully connected",
        "Softmax",
    ]
    captions = [c.value for c in at.caption]
    assert "shape 4 × 64 × 64" in captions  # pooled maps of a 128 px input
    text = " ".join(m.value for m in at.info)
    for words in ("depthwise", "max(0, x)", "optimizer"):
        assert words in text


def test_home_sample_comes_from_the_url():
    at = AppTest.from_file(APP)
    at.query_params["sample"] = "checkerboard"
    at.run(timeout=60)
    assert not at.exception
    assert at.selectbox(key="sample").value == "checkerboard"


def test_dense_sentence_says_what_is_computed():
    """The fully connected step has no bias: the logits are W·x shifted by their mean, and the
    sentence says so (it used to promise 'plus a bias')."""
    gray = sample_image("cameraman", mode="gray", max_side=64).array
    stages = {s.key: s for s in run_pipeline(gray, seed=3)}
    flat, logits = stages["flatten"].output, stages["dense"].output
    rng = np.random.default_rng(3)
    w = rng.standard_normal((10, flat.size)).astype(np.float32) / np.sqrt(flat.size)
    sums = w @ flat
    np.testing.assert_allclose(logits, sums - sums.mean(), rtol=1e-5, atol=1e-6)
    sentence = stages["dense"].sentence
    assert "plus a bias" not in sentence
    assert "no bias" in sentence and "mean" in sentence
    # shifting every score by the same amount changes no probability
    np.testing.assert_allclose(stages["softmax"].output, cnnviz.softmax(sums), rtol=1e-5)
