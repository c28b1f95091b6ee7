"""The Output size page (AppTest): formula in the user's numbers, refusals explained, URL state."""

import pytest
from streamlit.testing.v1 import AppTest

import cnnviz

PAGE = "pages/output_size.py"


@pytest.fixture
def run(open_page):
    return lambda **params: open_page(PAGE, **params)


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(e.value for e in at.error)


def test_default_shows_the_formula_and_the_torch_line(run):
    at = run()
    assert cnnviz.output_size(28, 3, 1, 0).dims[0].formula in texts(at)
    assert "Output: 26 × 26" in at.success[0].value
    assert not at.code  # drawn once its expander is opened
    at.session_state["code_open"] = True
    at.run(timeout=30)
    assert "nn.Conv2d(1, 1, kernel_size=3)" in at.code[0].value


def test_changing_a_control_updates_the_numbers(run):
    at = run()
    at.number_input(key="s").set_value(2).run(timeout=30)
    at.number_input(key="p").set_value(1).run(timeout=30)
    assert not at.exception
    want = cnnviz.output_size(28, 3, 2, 1)
    assert want.dims[0].formula in texts(at)
    assert f"Output: {want.size[0]} × {want.size[1]}" in at.success[0].value


def test_impossible_settings_explain_and_do_not_crash(run):
    at = run()
    at.number_input(key="k").set_value(40).run(timeout=30)
    assert not at.exception
    assert not at.success
    msg = at.error[0].value
    assert "kernel 40 is larger than the padded input 28" in msg and "padding ≥ 6" in msg


@pytest.mark.parametrize(
    "params, want",
    [
        (dict(op="Pooling", **{"in": "7"}, k="2", s="2", ceil="true"), (4, 4)),
        (dict(op="Transposed", **{"in": "4"}, k="3", s="2", p="1", opad="0"), (7, 7)),
        (dict(square="false", **{"in": "10", "in_w": "20"}, k="3", k_w="5"), (8, 16)),
        (dict(pad_kind="same", k="4"), (28, 28)),
        (dict(pad_kind="full", k="5", d="2"), (36, 36)),
        (dict(mode="reflect", p="2"), (30, 30)),
    ],
)
def test_a_shared_link_opens_that_state(run, params, want):
    at = run(**params)
    assert f"Output: {want[0]} × {want[1]}" in at.success[0].value


def test_a_link_with_bad_values_falls_back_to_defaults(run):
    at = run(k="banana", s="-3", op="nonsense", mode="bogus")
    assert "Output: 26 × 26" in at.success[0].value


def test_reflect_padding_too_large_is_explained(run):
    at = run(mode="reflect", p="5", **{"in": "4"}, k="3")
    assert "reflect padding" in at.error[0].value


def test_transposed_output_padding_rule_is_explained(run):
    at = run(op="Transposed", s="1", d="1")
    at.number_input(key="opad").set_value(1).run(timeout=30)
    assert "output_padding 1 must be smaller" in at.error[0].value


def test_a_fix_button_applies_the_nearest_setting_that_works(run):
    at = run(**{"in": "4"}, k="9")
    assert "kernel 9 is larger" in at.error[0].value
    labels = [b.label for b in at.button]
    assert "Set padding 3" in labels and "Set kernel size 4" in labels
    at.button[labels.index("Set padding 3")].click().run(timeout=30)
    assert not at.exception and not at.error
    assert at.number_input(key="p").value == 3
    assert cnnviz.output_size(4, 9, 1, 3).dims[0].formula in texts(at)


def test_a_fix_for_one_dimension_changes_only_that_one(run):
    at = run(square="false", **{"in": "20", "in_w": "4"}, k="9", k_w="9")
    assert at.error[0].value.count("width: kernel 9") == 1
    labels = [b.label for b in at.button]
    at.button[labels.index("Set kernel size 4 (width)")].click().run(timeout=30)
    assert not at.error
    assert (at.number_input(key="k").value, at.number_input(key="k_w").value) == (9, 4)


def page_text(at: AppTest) -> str:
    return texts(at) + "\n".join(c.value for c in at.caption)


def test_ceil_mode_says_whether_torch_keeps_or_drops_the_last_window(run):
    import torch
    import torch.nn.functional as F

    kept = run(op="Pooling", **{"in": "5"}, k="2", s="2", ceil="true")
    assert (
        f"Output: {F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 2, ceil_mode=True).shape[-1]}"
        in kept.success[0].value
    )
    words = page_text(kept)
    assert "keeps a last, partial window" in words and "1 (not 2)" in words
    assert "padded row" not in words and "only padding" not in words  # no padding here
    dropped = run(op="Pooling", **{"in": "5"}, k="2", s="2", p="1", ceil="true")
    assert "Output: 3 × 3" in dropped.success[0].value
    words = page_text(dropped)
    assert "drops a last window" in words and "partial window is kept" not in words


def test_output_padding_keeps_cropped_stamps_not_empty_cells(run):
    at = run(op="Transposed", **{"in": "2"}, k="3", s="2", p="1", opad="1")
    assert "Output: 4 × 4" in at.success[0].value
    words = page_text(at)
    assert "keeps 1 row at the bottom that padding would have cropped" in words
    assert "adds 1 at the end" not in words and "empty" not in words


def test_same_padding_with_a_stride_names_both_rules(run):
    at = run(pad_kind="same", s="2")
    msg = at.error[0].value
    assert "PyTorch accepts padding='same' only with stride 1" in msg
    assert "Keras and TensorFlow" in msg and "⌈input / s⌉" in msg
