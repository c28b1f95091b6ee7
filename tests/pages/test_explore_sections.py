"""The Explore page's transfer-learning and "what a filter wants" sections in AppTest: a click
gives the chart and the sentence with the engine's own numbers, or the picture with its
channel's activation; a bad zip gives the project's sentence, never an exception."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_data_picker import zip_of  # same folder (tests/ is not a package)

from cnnviz import maximize, pretrained, transfer
from cnnviz.numbers import fmt


def transfer_app():
    from cnnviz.ui.explore.transfer import transfer_section

    transfer_section(None)


def wants_app():
    from cnnviz.pretrained import pretrained
    from cnnviz.ui.explore.wants import filter_wants_section

    model, meta = pretrained("digits")
    names = [n for n, _ in model.named_modules()]
    filter_wants_section(model, tuple(meta["input_shape"]), names)


def run(at) -> AppTest:
    at = at.run(timeout=120)
    assert not at.exception, [e.message for e in at.exception]
    return at


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def test_train_both_gives_the_chart_and_the_sentence_with_the_engine_numbers():
    at = run(AppTest.from_function(transfer_app))
    assert not at.get("vega_lite_chart")
    run(at.slider(key="xfer_epochs").set_value(3))
    run(at.button(key="xfer_go").click())
    assert len(at.get("vega_lite_chart")) == 1
    text = [m.value for m in at.markdown if m.value.startswith("With 20 pictures per class")]
    # the same run, straight from the engine
    base, _ = pretrained.pretrained("digits0-4")
    ds = pretrained.digits28().only_classes("56789")
    want = transfer.transfer_vs_scratch(
        base, transfer.few_per_class(ds, 20, seed=0), (ds.x_val, ds.y_val), epochs=3, seed=0
    )
    assert text == [transfer.transfer_sentence(want, 20)]
    # a rerun shows the kept result without training again
    run(at)
    assert len(at.get("vega_lite_chart")) == 1


def test_a_bad_zip_is_a_sentence_and_a_good_one_trains():
    at = run(AppTest.from_function(transfer_app))
    run(at.radio(key="xfer_new").set_value("Your zip of pictures"))
    run(at.file_uploader(key="xfer_zip").upload("bad.zip", b"not a zip at all", "application/zip"))
    assert "not a zip archive cnnviz can read" in at.error[0].value
    assert not at.get("vega_lite_chart")
    rng = np.random.default_rng(0)
    entries = {}
    for i in range(7):  # colour pictures, made gray for the 1-channel base
        entries[f"bars/{i}.png"] = png(
            np.kron(rng.random((4, 1)) > 0.5, np.ones((8, 32, 3))).astype(np.uint8) * 255
        )
        entries[f"dots/{i}.png"] = png((rng.random((32, 32, 3)) > 0.8).astype(np.uint8) * 255)
    run(at.file_uploader(key="xfer_zip").upload("mine.zip", zip_of(entries), "application/zip"))
    assert not at.error
    run(at.slider(key="xfer_epochs").set_value(2))
    run(at.button(key="xfer_go").click())
    assert len(at.get("vega_lite_chart")) == 1
    assert any(m.value.startswith("With 20 pictures per class") for m in at.markdown)
    assert any("fewer than 20 training pictures" in c.value for c in at.caption)


def test_the_students_own_pictures_by_upload_and_camera_become_the_new_classes():
    at = run(AppTest.from_function(transfer_app))
    run(at.radio(key="xfer_new").set_value("Your pictures (uploads or camera)"))
    assert not at.get("vega_lite_chart") and not at.error
    at.text_input(key="data_cls0").set_value("ring")
    at.text_input(key="data_cls1").set_value("bar")
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:32, :32]
    ring = (np.abs(np.hypot(yy - 16, xx - 16) - 9) < 2).astype(np.uint8) * 255
    for i in range(6):
        at.file_uploader(key="data_up0").upload(
            f"r{i}.png", png(np.roll(ring, rng.integers(-3, 4), axis=1)), "image/png"
        )
    for i in range(5):
        bar = np.zeros((32, 32), np.uint8)
        bar[:, 10 + i : 14 + i] = 255
        at.file_uploader(key="data_up1").upload(f"b{i}.png", png(bar), "image/png")
    run(at)
    run(at.toggle(key="data_camon1").set_value(True))  # a sixth bar, from the camera
    bar = np.zeros((32, 32, 3), np.uint8)
    bar[:, 20:24] = 255
    shot = io.BytesIO()
    Image.fromarray(bar).save(shot, "JPEG")
    run(at.camera_input(key="data_cam1").upload("shot.jpg", shot.getvalue()))
    run(at.button(key="data_add1").click())
    assert any("1 from the camera" in c.value for c in at.caption)
    run(at.slider(key="xfer_epochs").set_value(2))
    run(at.button(key="xfer_go").click())
    assert not at.error
    assert len(at.get("vega_lite_chart")) == 1
    assert any(m.value.startswith("With 20 pictures per class") for m in at.markdown)


def test_find_what_a_filter_wants_shows_the_picture_and_its_kernel():
    at = run(AppTest.from_function(wants_app))
    assert [o for o in at.selectbox(key="wants_layer").options] == [
        "layer 0: conv 3×3, 1 → 8 channels",
        "layer 3: conv 3×3, 8 → 16 channels",
    ]
    run(at.selectbox(key="wants_layer").set_value("3"))
    run(at.number_input(key="wants_channel_3").set_value(5))
    assert not at.image
    run(at.button(key="wants_go").click())
    assert len(at.image) == 2  # the picture and the kernel
    model, _ = pretrained.pretrained("digits")
    x = maximize.maximize_channel(model, "3", 5, (1, 28, 28), seed=0)
    got = maximize.channel_activation(model, "3", 5, x)[0]
    captions = [c.value for c in at.caption]
    assert any(
        c.startswith(f"What channel 5 of layer 3 wants: its mean activation is {fmt(got)} ")
        for c in captions
    )
    assert any("one 3×3 slice for each of its 8 input channels" in c for c in captions)
