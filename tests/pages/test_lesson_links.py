"""Lesson links (AppTest): each curated link opens its page with no exception and no "could not
be used" note, in exactly the lesson's state, hides the controls it fixes and names them, and
the lesson's claim holds on the page (e.g. stride 2 halves the map)."""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz
from cnnviz import lesson_links as lessons
from cnnviz.kernels import parse_kernel
from cnnviz.lesson_links import BY_SLUG, LESSONS
from cnnviz.ui.links import _same, from_root


def text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [c.value for c in at.code] + [i.value for i in at.info] + [s.value for s in at.success]
    return "\n".join(parts)


def widget_keys(at) -> set[str]:
    kinds = ("slider", "number_input", "selectbox", "toggle", "text_area", "select_slider")
    keys = {w.key for kind in kinds for w in getattr(at, kind)}
    return (
        keys
        | {w.key for w in at.get("button_group")}
        | {w.key for w in at.get("segmented_control")}
    )


@pytest.fixture
def open_lesson(open_page):
    def run(slug: str):
        lesson = BY_SLUG[slug]
        at = open_page(lesson.page_path, **lesson.query)
        warnings = [w.value for w in at.warning]
        assert not any("could not be used" in w or "not a valid" in w for w in warnings), warnings
        assert not [e.value for e in at.error], [e.value for e in at.error]
        for key, value in lesson.params.items():  # in the URL, or a default Streamlit dropped
            kept = at.query_params.get(key) in (value, [value])
            assert kept or _same(value, at.session_state[key], None), (key, value)
        return at

    return run


def test_there_are_at_least_ten_lessons_each_with_a_small_thumbnail():
    assert len(LESSONS) >= 10
    assert len({lesson.slug for lesson in LESSONS}) == len(LESSONS)
    for lesson in LESSONS:
        thumb = lessons.thumbnail(lesson.slug)
        assert thumb.dtype == np.uint8 and thumb.ndim == 3 and max(thumb.shape[:2]) == 96
        assert lesson.sentence.count(". ") <= 2 and lesson.url.startswith(f"/{lesson.page}")


def test_home_shows_every_lesson_link_with_its_sentence(open_page):
    at = open_page("pages/home.py")
    shown = text(at)
    for lesson in LESSONS:
        assert lesson.sentence in shown and lesson.url in shown
    assert len(at.image) >= len(LESSONS)


@pytest.mark.parametrize("slug", [lesson.slug for lesson in LESSONS if lesson.hide])
def test_hidden_controls_are_gone_and_named_as_fixed(open_lesson, slug):
    at = open_lesson(slug)
    lesson = BY_SLUG[slug]
    assert not set(lesson.hide) & widget_keys(at), set(lesson.hide) & widget_keys(at)
    notes = [i.value for i in at.info if i.value.startswith("Fixed by this lesson:")]
    assert len(notes) == 1, [i.value for i in at.info]


def test_stride_2_halves_the_map(open_lesson):
    at = open_lesson("stride")
    assert "Fixed by this lesson: stride 2, padding 1." in text(at)
    assert "**256 × 256 × 1** → conv → **128 × 128 × 1**" in text(at)
    assert cnnviz.output_size(256, 3, 2, 1).size == (128, 128)


def test_padding_keeps_the_size(open_lesson):
    at = open_lesson("padding")
    assert "**256 × 256 × 1** → conv → **256 × 256 × 1**" in text(at)
    assert "Fixed by this lesson: padding 1." in text(at)


def test_dilation_widens_the_window_with_the_same_nine_weights(open_lesson):
    at = open_lesson("dilation")
    assert "**256 × 256 × 1** → conv → **256 × 256 × 1**" in text(at)
    assert cnnviz.output_size(256, 3, 1, 2, 2).dims[0].formula in text(at)
    x = np.zeros((1, 9, 9), np.float32)
    cell = cnnviz.trace(x, np.ones((1, 1, 3, 3), np.float32), padding=2, dilation=2, row=4, col=4)
    top, left, bottom, right = cell.box
    assert (bottom - top + 1, right - left + 1) == (5, 5) and cell.channels[0].products.size == 9


def test_max_pooling_is_never_below_average(open_lesson):
    at = open_lesson("pooling")
    assert at.session_state["k"] == 2 and at.session_state["s"] == 2
    assert cnnviz.output_size((4, 4), 2, 2, op="pool").dims[0].formula in text(at)
    g = parse_kernel(at.session_state["grid_text"])[None]
    assert (cnnviz.max_pool2d(g, 2, 2) >= cnnviz.avg_pool2d(g, 2, 2)).all()


def test_rgb_three_slices_make_one_map(open_lesson):
    at = open_lesson("rgb")
    assert "**256 × 256 × 3** → conv → **254 × 254 × 1**" in text(at)
    assert "One filter, three slices: partial maps, then their sum" in text(at)


def test_the_worked_example_writes_19_25_37_43(open_lesson):
    at = open_lesson("worked")
    want = ["19", "25", "37", "43"]
    for step, value in enumerate(want, start=1):
        if step > 1:
            at.slider(key="step").set_value(step).run(timeout=30)
        assert f"= <b>{value}</b>" in text(at), text(at)[-800:]
    x, k = parse_kernel(lessons.WORKED_INPUT), parse_kernel(lessons.WORKED_KERNEL)
    assert cnnviz.conv2d(x[None], k[None, None]).ravel().tolist() == [19, 25, 37, 43]


def test_transposed_conv_undoes_the_shape(open_lesson):
    at = open_lesson("transposed")
    assert "Output: 28 × 28" in text(at)
    assert cnnviz.output_size(28, 4, 2, 1).size == (14, 14)


@pytest.mark.parametrize("slug", ["first_layer", "overfit", "keras"])
def test_train_lessons_open_in_their_state(open_lesson, slug, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_RUNS", str(tmp_path / "runs"))
    at = open_lesson(slug)
    lesson = BY_SLUG[slug]
    assert at.session_state["data"] == lesson.params["data"]
    if slug == "overfit":
        assert at.select_slider(key="ntrain").value == "50"
        assert at.number_input(key="epochs").value == 60 and at.toggle(key="aug").value is False
        from cnnviz.lessons import OVERFIT  # the Train page's own lesson, step 1

        step1 = OVERFIT[0].settings
        assert (step1["n_train"], step1["epochs"], step1["lr"]) == (50, 60, 0.01)
    if slug == "keras":
        from cnnviz import arch

        rows = arch.summarize(lessons.KERAS, (3, 32, 32), n_classes=10)
        assert rows[-1].out_shape == (10,) and sum(r.params for r in rows) == 122_570
        assert f"{sum(r.params for r in rows):,}" in text(at) or str(rows[0].params) in text(at)


def test_readme_lists_every_lesson_link_and_the_parameters():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Teaching with cnnviz", 1)[1].split("\n## ", 1)[0]
    for lesson in LESSONS:
        assert f"[{lesson.title}]({lesson.url})" in section
    assert "hide=" in section and "quiz=1" in section


def test_readme_example_link_opens_with_its_quiz(open_page):
    at = open_page(
        "pages/output_size.py", **{"in": "32", "k": "5", "s": "2", "quiz": "1", "hide": "in,k,s"}
    )
    assert "Fixed by this lesson: input size 32, kernel size 5, stride 2." in text(at)
    assert "Predict, then reveal" in text(at) and not at.warning


def test_hide_works_on_activations_too(open_page):
    at = open_page("pages/activations.py", t="2", hide="t,x")
    assert "Fixed by this lesson: x -2, temperature 2." in text(at)  # in page order
    assert not {"t", "x"} & widget_keys(at)


def test_copy_link_builds_a_lesson_link(open_page):
    at = open_page("pages/convolution.py", s="2", p="1")
    at.session_state["link_open"] = True  # the Copy link popover is drawn once opened
    at.run(timeout=30)
    at.multiselect(key="share_hide").set_value(["s", "p"]).run(timeout=30)
    at.toggle(key="share_quiz").set_value(True).run(timeout=30)
    link = next(c.value for c in at.code if "/convolution" in c.value or "s=2" in c.value)
    assert "s=2" in link and "p=1" in link and "hide=s,p" in link and "quiz=1" in link
    assert at.slider(key="s").value == 2  # the teacher's own page keeps every control


@pytest.mark.parametrize(
    "root, want",
    [
        ("http://10.0.0.5:8501/", "http://10.0.0.5:8501/output_size?k=3&s=2"),
        ("http://10.0.0.5:8501", "http://10.0.0.5:8501/output_size?k=3&s=2"),
        ("https://school.example/cnnviz/", "https://school.example/cnnviz/output_size?k=3&s=2"),
        ("https://school.example/cnnviz", "https://school.example/cnnviz/output_size?k=3&s=2"),
        ("", "/output_size?k=3&s=2"),  # no address known (AppTest): as given
    ],
)
def test_a_gallery_link_is_a_whole_address_under_the_apps_base_path(root, want):
    assert from_root("/output_size?k=3&s=2", root) == want
