"""The Explore page (AppTest): it opens on the built-in net with a test digit, its softmax numbers
are torch's, and choosing a test example, a channel, a unit or a Grad-CAM layer works; a bad
upload gets a sentence. One page opened per module (the net loads once), each test sets what it
reads."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.numbers import MINUS, fmt

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages/explore.py")


def text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture(scope="module")
def at() -> AppTest:
    page = AppTest.from_file(PAGE)
    page.run(timeout=60)
    return ok(page)


@pytest.fixture(scope="module")
def net_and_data():
    from cnnviz.data import builtin
    from cnnviz.pretrained import pretrained

    model, meta = pretrained("digits")
    return model, builtin(meta["dataset"])


def test_default_opens_on_the_builtin_net_with_a_test_digit(at: AppTest) -> None:
    words = text(at)
    assert "It says" in words and "test image 0" in words
    assert "How channel 0 of 1. conv8k3 is made" in words
    assert "The sum equals PyTorch's own channel 0: **yes**" in words
    assert "Grad-CAM on layer" in words


def test_softmax_numbers_are_torchs(at: AppTest, net_and_data) -> None:
    model, ds = net_and_data
    at.number_input(key="ex").set_value(3).run(timeout=30)
    ok(at)
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(ds.x_test[3][None])), dim=1)[0].double().numpy()
    table = at.dataframe[0].value
    shown = list(table["exp ÷ sum"])
    assert shown == [fmt(float(v), 4, MINUS) for v in p]
    assert sum(float(s.replace(MINUS, "-")) for s in shown) == pytest.approx(1.0, abs=1e-3)
    best = int(p.argmax())
    assert f"It says **{ds.classes[best]}**" in text(at)
    assert "test image 3" in text(at)


def test_the_ones_it_got_wrong_are_offered(at: AppTest, net_and_data) -> None:
    model, ds = net_and_data
    at.toggle(key="wrong").set_value(True).run(timeout=60)
    ok(at)
    box = at.selectbox(key="missed")
    first = int(box.value)
    with torch.no_grad():
        guess = int(model(torch.from_numpy(ds.x_test[first][None])).argmax())
    assert guess != int(ds.y_test[first])
    assert "✗" in text(at)
    at.toggle(key="wrong").set_value(False).run(timeout=30)


def test_a_chosen_channel_is_taken_apart(at: AppTest) -> None:
    at.selectbox(key="layer").set_value(4).run(timeout=30)  # the second conv (16 channels)
    at.number_input(key="ch").set_value(5).run(timeout=30)
    words = text(ok(at))
    assert "How channel 5 of 4. conv16k3 is made" in words
    assert "**8 input channels**" in words
    assert "The sum equals PyTorch's own channel 5: **yes**" in words
    at.selectbox(key="layer").set_value(1).run(timeout=30)


def test_a_chosen_unit_shows_its_receptive_field(at: AppTest) -> None:
    at.number_input(key="row").set_value(2).run(timeout=30)
    at.number_input(key="col").set_value(20).run(timeout=30)
    words = text(ok(at))
    assert "row 2, column 20" in words
    try:
        import cnnviz.unit_field  # noqa: F401
    except ImportError:
        pytest.skip("cnnviz.unit_field is not in this build")
    assert "It sees **3 × 3 input pixels** (rows 2–4, columns 20–22" in words


def test_the_chosen_unit_goes_to_the_address_and_a_link_opens_it() -> None:
    page = ok(AppTest.from_file(PAGE))
    page.run(timeout=60)
    assert "unit" not in page.query_params  # the default unit is not written
    page.selectbox(key="layer").set_value(4).run(timeout=30)
    page.number_input(key="ch").set_value(5).run(timeout=30)
    page.number_input(key="row").set_value(2).run(timeout=30)
    page.number_input(key="col").set_value(8).run(timeout=30)
    assert ok(page).query_params["unit"] == "4-5-2-8"

    linked = AppTest.from_file(PAGE)
    linked.query_params["unit"] = "4-5-2-8"
    linked.run(timeout=60)
    words = text(ok(linked))
    assert "How channel 5 of 4. conv16k3 is made" in words
    assert "Channel 5, row 2, column 8" in words
    assert linked.query_params["unit"] == "4-5-2-8" and not linked.warning


@pytest.mark.parametrize("raw", ["4-16-0-0", "7-0-0-0", "4-5-11-0", "-1-0-0-0", "x", ""])
def test_a_unit_the_net_lacks_gets_a_note_and_the_default(raw: str) -> None:
    """Layer 4 has 16 channels (0-15) of 11 rows; layer 7 (flatten) has no maps; -1 is no
    layer."""
    page = AppTest.from_file(PAGE)
    page.query_params["unit"] = raw
    page.run(timeout=60)
    notes = " ".join(w.value for w in ok(page).warning)
    assert f"unit={raw}" in notes and "could not be used" in notes
    assert "unit" not in page.query_params
    assert "How channel 0 of 1. conv8k3 is made" in text(page)


def test_grad_cam_layer_and_class_can_be_chosen(at: AppTest) -> None:
    at.selectbox(key="cam_layer").set_value("0").run(timeout=30)
    at.selectbox(key="cam_class").set_value("3").run(timeout=30)
    words = text(ok(at))
    # numbered as the overview numbers its columns (1. conv8k3 ... 4. conv16k3)
    assert "Grad-CAM, layer 1. conv8k3: 26 × 26 map" in words
    assert at.selectbox(key="cam_layer").format_func("3") == "4. conv16k3"
    assert "evidence for **3**" in words or "no evidence *for* 3" in words


def test_a_bad_upload_gets_a_sentence_a_good_one_and_a_photo_a_prediction() -> None:
    page = AppTest.from_file(PAGE)
    page.query_params["src"] = "Upload"
    page.run(timeout=60)
    page.file_uploader(key="up_digit").upload("notes.png", b"not a picture", "image/png")
    page.run(timeout=30)
    assert not page.exception
    assert page.error and "image" in page.error[0].value.lower()
    assert "It says" not in text(page)
    ink = np.full((60, 60), 255, np.uint8)  # a dark 1 on white paper
    ink[10:50, 28:33] = 0
    buf = io.BytesIO()
    Image.fromarray(ink).save(buf, "PNG")
    page.file_uploader(key="up_digit").upload("one.png", buf.getvalue(), "image/png")
    page.run(timeout=30)
    words = text(ok(page))
    assert "It says **1**" in words and "your picture one.png" in words  # centred like the data
    page.button_group(key="src").set_value("camera").run(timeout=30)
    photo = io.BytesIO()
    Image.fromarray(ink).convert("RGB").save(photo, "JPEG")
    page.camera_input(key="cam").set_value(("photo.jpg", photo.getvalue(), "image/jpeg"))
    words = text(ok(page.run(timeout=30)))
    assert "It says **1**" in words and "your photo" in words


FAMOUS = {  # parameters, receptive field of the last maps (before global pooling)
    "lenet5": ("61,706", 16),
    "alexnet": ("61,100,840", 195),
    "vgg16": ("138,357,544", 212),
    "resnet50": ("25,557,032", 427),
}


def test_the_famous_nets_totals_fields_and_why_427() -> None:
    from cnnviz.ui.explore.famous import RESNET_STEPS

    page = AppTest.from_file(PAGE)
    page.query_params["famous_open"] = "true"
    page.run(timeout=60)
    for name, (params, field) in FAMOUS.items():
        page.button_group(key="famous").set_value(name).run(timeout=60)
        words = ok(page).get("markdown")
        totals = next(m.value for m in words if "parameters**" in m.value)
        assert f"**{params} parameters**" in totals
        assert f"see **{field} × {field} input pixels**" in totals
    why = text(page)
    assert "Why ResNet-50's last stage sees 427 × 427 pixels" in why
    assert sum(add for _, add, _ in RESNET_STEPS) == RESNET_STEPS[-1][2] == 427
    assert all(f"+{add} → {after}" in why for _, add, after in RESNET_STEPS)


def test_the_other_model_sources_say_what_to_do() -> None:
    page = AppTest.from_file(PAGE)
    page.query_params["model"] = "Trained on Train"
    page.run(timeout=60)
    assert "Nothing trained in this session yet" in ok(page).info[0].value
    page.button_group(key="model").set_value("opened").run(timeout=60)
    assert ok(page).file_uploader(key="up_weights") is not None
    assert "Pick a model and an input" in page.info[0].value


def test_the_net_trained_on_train_is_explored() -> None:
    from cnnviz import arch
    from cnnviz.data import builtin
    from cnnviz.training import TrainConfig, Trainer
    from cnnviz.ui.train.session import TrainingSession

    ds = builtin("digits")  # small scans: a net trained in a second
    t = Trainer(ds, arch.PRESETS["minimal"], TrainConfig(epochs=1, n_train=200))
    t.start()
    t.join(90)
    ts = TrainingSession()
    ts.replace(t, arch.PRESETS["minimal"], ds)
    page = AppTest.from_file(PAGE)
    page.session_state["training"] = ts
    page.query_params["model"] = "Trained on Train"
    page.run(timeout=60)
    words = text(ok(page))
    assert "It says" in words and "Fed to the net (16 × 16)" in words
    assert "How channel 0 of 1. conv8k3 is made" in words
    x = ds.x_test[0]
    with torch.no_grad():
        p = torch.softmax(t.model(torch.from_numpy(x[None])), dim=1)[0].double().numpy()
    assert list(page.dataframe[0].value["exp ÷ sum"]) == [fmt(float(v), 4, MINUS) for v in p]


def test_the_filter_and_transfer_sections_open_from_a_link() -> None:
    page = AppTest.from_file(PAGE)
    page.query_params["wants_open"] = "true"
    page.query_params["transfer_open"] = "true"
    page.run(timeout=120)
    keys = [b.key for b in ok(page).button]
    assert "wants_go" in keys and "xfer_go" in keys


def test_a_lesson_link_can_fix_the_test_image_and_hide_the_choice() -> None:
    page = AppTest.from_file(PAGE)
    page.query_params["hide"] = "src,ex"
    page.query_params["ex"] = "12"
    page.run(timeout=60)
    assert "Fixed by this lesson: input Test example, test image 12." in ok(page).info[0].value
    assert [w.key for w in page.button_group] == ["model"]
    assert "test image 12" in text(page)


def test_a_place_in_a_link_is_one_whole_number_per_dimension_inside_it() -> None:
    from cnnviz.ui.params import index_in

    assert index_in("0-5-7", (1, 6, 8)) == (0, 5, 7)
    for raw in (None, "", "0-5", "0-5-7-1", "0-6-7", "-1-5-7", "0-5-x", "9" * 5000):
        assert index_in(raw, (1, 6, 8)) is None, raw
