"""What a speaker or student trips on. Fixes for the Convolution page's whole chain (conv, then
pooling): every fix the engine offers makes both stages work and stays within the page's controls
(hypothesis), and on the page every fix button leads to a page with no refusal (AppTest). Compare
mode's shared colour scale; a pixel chosen from the keyboard; a text alternative on every
picture."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
from cnnviz import playground
from cnnviz.playground import Settings, chain_fixes, check_sizes
from cnnviz.render.colormaps import range_caption, value_range
from cnnviz.shapes import SettingError

LIMITS = {
    "stride": (1, 8),
    "padding": (0, 10),
    "dilation": (1, 5),
    "pool_size": (1, 8),
    "pool_stride": (1, 8),
}
PAGE = "pages/convolution.py"


@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    kh=st.integers(1, 11),
    kw=st.integers(1, 11),
    s=st.integers(1, 8),
    p=st.integers(0, 3),
    d=st.integers(1, 5),
    pool=st.sampled_from(["none", "max", "avg"]),
    pk=st.integers(1, 8),
    ps=st.integers(1, 8),
    mode=st.sampled_from(["zeros", "reflect", "circular"]),
)
def test_every_chain_fix_makes_conv_and_pool_work(h, w, kh, kw, s, p, d, pool, pk, ps, mode):
    k = np.ones((kh, kw), np.float32)
    cur = Settings(
        (k,),
        stride=(s, s),
        padding=(p, p),
        padding_mode=mode,
        dilation=(d, d),
        pool=pool,
        pool_size=pk,
        pool_stride=ps,
    )
    try:
        check_sizes((h, w), (kh, kw), cur)
        return  # nothing to fix
    except SettingError:
        pass
    from dataclasses import replace

    for fix in chain_fixes((h, w), (kh, kw), cur, LIMITS):
        fixed = replace(cur, **dict(fix.changes))
        check_sizes((h, w), (kh, kw), fixed)  # raises if the fix leaves a refusal
        for name, value in fix.changes:
            if name in LIMITS:
                lo, hi = LIMITS[name]
                assert all(lo <= v <= hi for v in np.ravel(value)), (name, value)


def test_a_padding_fix_that_would_break_pooling_comes_with_the_pool_fix():
    k = np.ones((11, 11), np.float32)
    cur = Settings((k,), dilation=(4, 4), pool="max", pool_size=2, pool_stride=2)
    fixes = chain_fixes((33, 33), (11, 11), cur, LIMITS)
    texts = [f.text for f in fixes]
    assert "dilation 3" in texts
    assert "padding 4, pool size 1" in texts  # padding alone would make a 1 × 1 map: no pool
    assert all("padding 4" != t for t in texts)


DOT = dict(size="64", sample="dot", kernel="random", kh="11", kw="11", d="4")  # 33 × 33 picture


TEXT = dict(size="64", sample="text", kernel="random", kh="11", kw="3", d="4")  # 32 × 64


@pytest.mark.parametrize("params", [DOT, TEXT], ids=["dot", "text"])
def test_every_fix_button_leaves_no_refusal(open_page, params):
    at = open_page(PAGE, **params)
    labels = [b.label for b in at.button if b.label.startswith("Set ")]
    assert labels and any("cannot work" in e.value for e in at.error)
    for label in labels:
        at = open_page(PAGE, **params)
        next(b for b in at.button if b.label == label).click().run(timeout=30)
        assert not at.exception
        assert not [e.value for e in at.error], (label, [e.value for e in at.error])
        assert "The arithmetic of one pixel" in "\n".join(m.value for m in at.markdown)


def test_chain_fix_sets_height_and_width_apart_when_they_differ(open_page):
    # "text" at 64 px is 32 × 64: only the height needs padding (and then a 1-high pool)
    at = open_page(PAGE, **TEXT)
    labels = [b.label for b in at.button if b.label.startswith("Set ")]
    two = next(lb for lb in labels if "×" in lb)
    next(b for b in at.button if b.label == two).click().run(timeout=30)
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert at.toggle(key="sq").value is False
    assert at.slider(key="d_w").value == 4  # the width keeps its dilation


def test_playground_run_agrees_with_check_sizes():
    k = np.ones((3, 3), np.float32)
    img = np.zeros((5, 5, 3), np.float32)
    s = Settings((k,), stride=(4, 4), pool="max", pool_size=2, pool_stride=2)
    with pytest.raises(SettingError):
        playground.run(img, s)
    with pytest.raises(SettingError):
        check_sizes((5, 5), (3, 3), s)


def test_a_pixel_can_be_chosen_by_row_and_column_from_the_keyboard(open_page):
    at = open_page(PAGE, s="2", p="1")
    at.number_input(key="cell_row").set_value(5).run(timeout=30)
    at.number_input(key="cell_col").set_value(7).run(timeout=30)
    text = "\n".join(m.value for m in at.markdown)
    assert "The arithmetic of one pixel: map 1, row 5, column 7" in text
    assert at.query_params["cell"] == "0-5-7"
    assert not at.warning and not at.exception


@pytest.mark.parametrize(
    "page, params",
    [
        ("pages/convolution.py", {"ch": "True RGB convolution", "extra": "emboss", "cmp": "true"}),
        ("pages/pooling.py", {}),
        ("pages/home.py", {}),
    ],
)
def test_every_picture_has_a_text_alternative(open_page, page, params):
    at = open_page(page, **params)
    images = [img for el in at.image for img in el.proto.imgs]
    assert images
    for img in images:
        assert img.alt or img.caption, img.url
    sized = [img.alt for img in images if "×" in img.alt]
    assert len(sized) >= len(images) // 2  # most say their shape


def test_compare_a_and_b_share_one_colour_scale(open_page):
    at = open_page(PAGE, cmp="true", b_s="1", b_pool="none", act="None")
    r = playground.run(
        cnnviz.sample_image("astronaut", "rgb", 256).array,
        Settings((cnnviz.preset("sobel_x"),), activation="none", pool="max"),
    )
    b = playground.run(
        cnnviz.sample_image("astronaut", "rgb", 256).array,
        Settings((cnnviz.preset("sobel_x"),), activation="none"),
    )
    want = range_caption(value_range(np.concatenate([r.pooled[0].ravel(), b.feature[0].ravel()])))
    # each map's colour bar carries its range as the bar's caption
    bars = [c for img in at.image for c in (img.captions or []) if c]
    assert bars.count(want) >= 2, bars  # A's bar and B's bar: the same range
    captions = [c.value for c in at.caption]
    assert "A and B share one colour scale" in " ".join(captions)
