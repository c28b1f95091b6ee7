"""The Train page's architecture block through AppTest: presets, the spec in the URL, adding,
removing, reordering and changing layers, impossible nets explained with fixes that apply, the
layer table with its arithmetic, and the exported code."""

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import arch


def editor_app():
    """A page that holds only the editor and shows what it returns."""
    import streamlit as st

    from cnnviz.ui.arch_editor import edit_architecture

    shape = st.session_state.get("test_shape", (1, 28, 28))
    n = st.session_state.get("test_classes", 10)
    st.text("RESULT " + edit_architecture(shape, n))


def run(shape=(1, 28, 28), n=10, **params) -> AppTest:
    at = AppTest.from_function(editor_app)
    at.session_state["test_shape"] = shape
    at.session_state["test_classes"] = n
    for k, v in params.items():
        at.query_params[k] = v
    return again(at)


def again(at: AppTest) -> AppTest:
    at.run(timeout=30)
    assert not at.exception, [e.message for e in at.exception]
    return at


def result(at: AppTest) -> str:
    return [t.value for t in at.text if t.value.startswith("RESULT ")][-1][7:]


def url(at: AppTest) -> str:
    value = at.query_params["arch"]
    return value[0] if isinstance(value, list) else value


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def test_default_is_the_minimal_preset_in_the_url_with_its_table_and_code():
    at = run()
    assert result(at) == url(at) == arch.PRESETS["minimal"]
    assert at.selectbox(key="arch_preset").value == "minimal"
    assert at.text_input(key="arch_text").value == arch.PRESETS["minimal"]
    assert not at.error
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["input", "1. conv8k3", "2. relu", "3. max2", "4. flat", "5. fc"]
    assert list(table["output"]) == [
        "1 × 28 × 28",
        "8 × 26 × 26",
        "8 × 26 × 26",
        "8 × 13 × 13",
        "1352",
        "10",
    ]
    assert table["arithmetic"][1] == "8 × 1 × 3 × 3 weights + 8 biases = 80"
    assert table["size"][1] == "⌊(28 + 2·0 − 1·(3 − 1) − 1) / 1⌋ + 1 = ⌊25 / 1⌋ + 1 = 25 + 1 = 26"
    assert table["field"][3] == "4 × 4"
    total = sum(r.params for r in arch.summarize(arch.PRESETS["minimal"], (1, 28, 28), 10))
    assert any(f"{total:,} parameters" in c.value for c in at.caption)
    details = " ".join(m.value for m in at.expander[-2].markdown)
    assert not at.code  # the export is drawn once opened
    at.session_state["export_open"] = True
    code = again(at).code[0].value
    assert "nn.Conv2d(1, 8, kernel_size=3)" in code and "nn.Linear(1352, 10)" in code
    assert "13520 outputs" not in details and "10 × 1352 weights + 10 biases = 13530" in details


@pytest.mark.parametrize("name", list(arch.PRESETS))
def test_presets_from_the_url_and_the_picker(name):
    at = run(arch="keras" if name == "minimal" else name)
    assert result(at) == arch.PRESETS["keras" if name == "minimal" else name]
    at.selectbox(key="arch_preset").select(name)
    again(at)
    assert result(at) == url(at) == arch.PRESETS[name]
    assert not at.error


def test_a_full_spec_in_the_url_is_kept():
    spec = "conv4k5p2-bn-relu-avg2-drop0.25-flat-fc32-relu-fc"
    at = run(arch=spec)
    assert result(at) == spec and at.selectbox(key="arch_preset").value == "custom"


@pytest.mark.parametrize("bad", ["conv8-rleu-fc", "%%%", "x" * 1000, "conv9999-flat-fc"])
def test_a_bad_url_falls_back_to_the_default_with_a_note(bad):
    at = run(arch=bad)
    assert result(at) == url(at) == arch.PRESETS["minimal"]
    notes = " ".join(i.value for i in at.info)
    assert "could not be read" in notes and "Showing the minimal" in notes
    assert not at.error


def test_a_preset_too_deep_for_small_inputs_is_padded_with_a_note():
    at = run(shape=(1, 16, 16), arch="keras")
    assert result(at) == arch.preset_for("keras", (1, 16, 16), 10)[0]
    assert "needs an input of at least 18×18" in " ".join(i.value for i in at.info)
    assert at.selectbox(key="arch_preset").value == "keras"
    assert not at.error
    # new data of another size: the untouched preset follows it
    at.session_state["test_shape"] = (3, 32, 32)
    again(at)
    assert result(at) == arch.PRESETS["keras"]


def test_typing_the_text_and_a_flat_added_for_you():
    at = run()
    at.text_input(key="arch_text").input("conv4 relu max2 fc16 relu fc")
    again(at)
    assert result(at) == url(at) == "conv4k3-relu-max2-flat-fc16-relu-fc"
    assert "a flat was added before layer 4" in " ".join(i.value for i in at.info)
    at.text_input(key="arch_text").input("conv4-relu-blah")
    again(at)
    assert "'blah' is not a layer I know" in errors(at)
    assert result(at) == "conv4k3-relu-max2-flat-fc16-relu-fc"  # the last net that could be read


def test_remove_move_duplicate_add(send_label):
    at = run()  # conv8k3-relu-max2-flat-fc
    at.button(key="arch_remove_1").click()
    again(at)
    assert result(at) == "conv8k3-max2-flat-fc"
    at.button(key="arch_up_1").click()
    again(at)
    assert result(at) == "max2-conv8k3-flat-fc"
    at.button(key="arch_down_0").click()
    again(at)
    assert result(at) == "conv8k3-max2-flat-fc"
    at.button(key="arch_dup_0").click()
    again(at)
    assert result(at) == "conv8k3-conv8k3-max2-flat-fc"
    at.selectbox(key="arch_add_kind").select("batchnorm")
    at.selectbox(key="arch_add_pos").select(1)
    at.button(key="arch_add").click()
    again(at)
    assert result(at) == url(at) == "conv8k3-bn-conv8k3-max2-flat-fc"
    assert at.selectbox(key="arch_preset").value == "custom"
    at.selectbox(key="arch_add_kind").select("dropout")
    at.selectbox(key="arch_add_pos").select(-1)  # at the end
    at.button(key="arch_add").click()
    again(at)
    assert result(at) == "conv8k3-bn-conv8k3-max2-flat-fc-drop"
    at.selectbox(key="arch_add_pos").select(6)  # before drop
    again(at)
    for _ in range(3):  # that layer is gone: the box falls back, no error
        at.button(key="arch_remove_0").click()
        again(at)
    assert result(at) == "max2-flat-fc-drop"
    assert at.selectbox(key="arch_add_pos").value in (0, 1, 2, 3, -1)
    at.button(key="arch_add").click()
    again(at)
    assert len(arch.parse(result(at))) == 5
    # a place named by a label its layers no longer have ("before 3. conv8k3" after an edit):
    # Streamlit hands back the label, and Add puts the layer at the end
    at.selectbox(key="arch_add_kind").select("relu")
    send_label(at, "arch_add_pos", "before 9. conv8k3")
    at.button(key="arch_add").click()
    again(at)
    assert result(at).endswith("-relu") and len(arch.parse(result(at))) == 6


def number(at: AppTest, pos: int, name: str):
    """The settings box `name` of the layer at position pos (keys carry a per-layer id)."""
    ids = [uid for uid, _ in at.session_state["arch_rows"]]
    return at.number_input(key=f"arch_{ids[pos]}_{name}")


def test_changing_settings():
    at = run()
    number(at, 0, "out_channels").set_value(16)
    again(at)
    assert result(at) == "conv16k3-relu-max2-flat-fc"
    number(at, 0, "padding").set_value(1)
    again(at)
    assert result(at) == "conv16k3p1-relu-max2-flat-fc"
    number(at, 2, "kernel_size").set_value(3)  # the stride followed the window
    again(at)
    assert result(at) == "conv16k3p1-relu-max3-flat-fc"
    ids = [uid for uid, _ in at.session_state["arch_rows"]]
    at.selectbox(key=f"arch_{ids[1]}_kind").select("leaky_relu")
    again(at)
    assert result(at) == "conv16k3p1-lrelu-max3-flat-fc"
    at.checkbox(key=f"arch_{ids[4]}_classes").uncheck()
    again(at)
    assert result(at) == "conv16k3p1-lrelu-max3-flat-fc64"
    assert "gives 64 scores, but the data has 10 classes" in errors(at)
    at.checkbox(key=f"arch_{ids[4]}_classes").check()
    again(at)
    assert result(at) == "conv16k3p1-lrelu-max3-flat-fc" and not at.error


def test_an_impossible_net_is_explained_and_a_fix_applies():
    at = run(shape=(1, 8, 8), arch="conv8k3-relu-max2-max2-max2-flat-fc")
    text = errors(at)
    assert "This net cannot work" in text and "Layer 5 (max2)" in text
    assert "use an input of at least 10×10 pixels" in text
    table = at.dataframe[0].value
    assert list(table["output"])[-1] == "does not fit"
    at.session_state["export_open"] = True  # the export says why it has no code
    assert "Fix the net first" in " ".join(c.value for c in again(at).caption)
    fix = next(b for b in at.button if b.label.startswith("Apply: remove layer 5"))
    fix.click()
    again(at)
    assert result(at) == url(at) == "conv8k3-relu-max2-max2-flat-fc"
    assert not at.error


def test_a_net_too_big_for_the_classroom_is_refused_before_training():
    at = run(shape=(3, 64, 64), arch="conv64k3p1-conv128k3p1-gap-fc")
    assert "cannot be trained here" in errors(at) and "operations per image" in errors(at)
    assert len(at.dataframe[0].value) == 6  # input + 5 layers: the table is still there


def test_two_outputs_net_ending_with_a_map_gets_the_tail_added():
    at = run(arch="conv4-relu")
    assert "add -flat-fc at the end" in errors(at)
    next(b for b in at.button if b.label.startswith("Apply: add -flat-fc")).click()
    again(at)
    assert result(at) == "conv4k3-relu-flat-fc" and not at.error


def test_keras_order_toggle_writes_height_width_channels():
    at = run(shape=(3, 32, 32), arch="keras")
    table = at.dataframe[0].value
    assert list(table["output"])[:2] == ["3 × 32 × 32", "32 × 30 × 30"]
    at.toggle(key="arch_hwc").set_value(True)
    again(at)
    table = at.dataframe[0].value
    assert list(table["output"])[:2] == ["32 × 32 × 3", "30 × 30 × 32"]
    assert "1024" in list(table["output"])
    # a link keeps the order
    at = run(shape=(3, 32, 32), arch="keras", arch_hwc="true")
    assert list(at.dataframe[0].value["output"])[:2] == ["32 × 32 × 3", "30 × 30 × 32"]


def test_table_labels_multiply_adds_and_keeps_other_operations_apart():
    at = run()
    table = at.dataframe[0].value
    assert table["macs"][1] == f"{8 * 26 * 26 * 9:,}" and table["ops"][1] == ""
    assert table["macs"][2] == "" and table["ops"][2] == f"{8 * 26 * 26:,}"  # the ReLU
    words = " ".join(c.value for c in at.caption)
    assert "multiply-adds (MACs)" in words and "FLOPs per image" not in words


def test_picking_a_preset_sets_its_training_defaults():
    at = run()
    for k in ("opt", "lr", "bs", "epochs"):  # the Train page's widgets, as the page has them
        at.session_state[k] = None
    at.selectbox(key="arch_preset").set_value("lenet5")
    again(at)
    t = arch.PRESET_TRAINING["lenet5"]
    assert at.session_state["lr"] == t["lr"] and at.session_state["epochs"] == t["epochs"]
    assert at.session_state["bs"] == t["batch_size"] and at.session_state["opt"] == "Adam"
    assert "pass 97\u00a0% validation accuracy on digits" in " ".join(c.value for c in at.caption)
    # a setting the user chose is kept; the others follow the next preset
    at.session_state["epochs"] = 40
    at.selectbox(key="arch_preset").set_value("tinyvgg")
    again(at)
    t = arch.PRESET_TRAINING["tinyvgg"]
    assert at.session_state["epochs"] == 40 and at.session_state["lr"] == t["lr"]


def test_dropout_help_says_the_kept_numbers_are_scaled_as_torch_does():
    import torch

    p = 0.25
    at = run(arch=f"conv4k3-relu-drop{p:g}-flat-fc")
    words = number(at, 2, "p").help + " ".join(m.help or "" for m in at.markdown)
    assert "1/(1 − p)" in words and "at test time it does nothing" in words
    layer = torch.nn.Dropout(p).train()
    y = layer(torch.ones(10_000))
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)))  # what the help says
    assert torch.equal(layer.eval()(torch.ones(5)), torch.ones(5))
