"""The data picker (cnnviz.ui.data_picker) in AppTest: built-in sets, URL binding, a good and a
bad zip, a folder of MNIST files, pictures per class from uploads and the camera."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.data import BUILTINS


def picker_app():
    import streamlit as st

    from cnnviz.ui.data_picker import pick_dataset

    ds = pick_dataset()
    st.session_state["picked"] = (
        None if ds is None else (ds.name, ds.input_shape, ds.counts(), id(ds))
    )


def run(at) -> AppTest:
    """Run the app (given the AppTest or one of its widgets) and check nothing raised."""
    at = at.run(timeout=60)
    assert not at.exception, [e.message for e in at.exception]
    return at


def new_app(**params) -> AppTest:
    at = AppTest.from_function(picker_app)
    for k, v in params.items():
        at.query_params[k] = v
    return run(at)


def picked(at: AppTest):
    return at.session_state["picked"]


def png(colour, size=(24, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_default_is_digits_with_counts_and_previews():
    at = new_app()
    name, shape, counts, _ = picked(at)
    assert name == "digits" and shape == (1, 16, 16)
    table = at.markdown[0].value
    assert "| class | training | validation | test |" in table
    assert f"**{sum(counts['train']):,}**" in table
    assert len(at.image) == 1 and at.image[0].captions == [str(d) for d in range(10)]
    assert not at.error


@pytest.mark.parametrize("name", list(BUILTINS))
def test_each_builtin_by_widget_and_url(name):
    at = new_app()
    run(at.selectbox(key="data").select(name))
    assert picked(at)[0] == name
    # the URL opens the same set (the browser writes the bound widget to the URL; AppTest
    # does not, so the URL -> widget direction is what can be checked here)
    assert picked(new_app(data=name))[0] == name


def test_builtin_is_the_same_object_across_reruns():
    at = new_app(data="orientations")
    first = picked(at)[3]
    assert picked(run(at))[3] == first


def test_good_zip_then_bad_zip():
    entries = {f"red/{i}.png": png((220, 10, 10)) for i in range(4)}
    entries |= {f"green/{i}.png": png((10, 200, 10)) for i in range(4)}
    entries["green/notes.txt"] = b"hello"
    at = new_app(data_src="Zip")
    assert picked(at) is None
    run(at.file_uploader(key="data_zip").upload("colours.zip", zip_of(entries), "application/zip"))
    name, shape, counts, _ = picked(at)
    assert name == "colours.zip" and shape == (3, 32, 32)
    assert counts == {"train": [2, 2], "val": [1, 1], "test": [1, 1]}
    assert any("1 file(s) skipped" in c.value for c in at.caption)
    run(at.select_slider(key="data_size").set_value(16))
    assert picked(at)[1] == (3, 16, 16)
    # the zip stays for the session when the uploader is emptied, until forgotten
    run(at.file_uploader(key="data_zip").set_value(None))
    assert picked(at)[1] == (3, 16, 16)
    run(at.select_slider(key="data_size").set_value(28))
    assert picked(at)[1] == (3, 28, 28)
    run(at.button(key="data_zip_forget").click())
    assert picked(at) is None

    bad = zip_of({"../escape.png": png((0, 0, 0)), "red/1.png": png((1, 1, 1))})
    at = new_app(data_src="Zip")
    run(at.file_uploader(key="data_zip").upload("bad.zip", bad, "application/zip"))
    assert picked(at) is None
    assert "unsafe path" in at.error[0].value
    at = new_app(data_src="Zip")
    run(
        at.file_uploader(key="data_zip").upload(
            "one.zip", zip_of({"a/1.png": png((1, 2, 3))}), "application/zip"
        )
    )
    assert "at least 2 classes" in at.error[0].value


def test_pictures_per_class_uploads_and_camera():
    at = new_app(data_src="Pictures")
    assert picked(at) is None
    at.text_input(key="data_cls0").set_value("sun")
    at.text_input(key="data_cls1").set_value("sea")
    up0 = at.file_uploader(key="data_up0")
    for i in range(3):
        up0.upload(f"s{i}.png", png((250, 200, 0)), "image/png")
    run(at)
    assert "'sea' has no pictures" not in " ".join(e.value for e in at.error)
    assert "only 'sun' has pictures" in at.error[0].value
    # two uploads and one camera shot for the second class
    up1 = at.file_uploader(key="data_up1")
    for i in range(2):
        up1.upload(f"w{i}.png", png((0, 40, 200)), "image/png")
    run(at)
    assert "'sea' has 2 picture" in at.error[0].value
    run(at.toggle(key="data_camon1").set_value(True))
    assert any("localhost" in c.value and "HTTPS" in c.value for c in at.caption)
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 50, 190)).save(buf, "JPEG")
    run(at.camera_input(key="data_cam1").upload("shot.jpg", buf.getvalue()))
    run(at.button(key="data_add1").click())
    name, shape, counts, _ = picked(at)
    assert shape == (3, 32, 32) and [sum(v) for v in zip(*counts.values())] == [3, 3]
    assert not at.error
    assert any("1 from the camera" in c.value for c in at.caption)


def test_duplicate_class_names_refused():
    at = new_app(data_src="Pictures")
    at.text_input(key="data_cls0").set_value("cat")
    at.text_input(key="data_cls1").set_value("cat")
    at.file_uploader(key="data_up0").upload("a.png", png((1, 1, 1)), "image/png")
    run(at)
    assert "both called 'cat'" in at.error[0].value


def idx(a: np.ndarray) -> bytes:
    return bytes([0, 0, 8, a.ndim]) + np.asarray(a.shape, ">u4").tobytes() + a.tobytes()


def test_folder_of_mnist_files(tmp_path):
    rng = np.random.default_rng(0)
    names = (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )
    arrays = (
        (rng.random((30, 28, 28)) < 0.2).astype(np.uint8) * 255,
        (np.arange(30) % 10).astype(np.uint8),
        (rng.random((20, 28, 28)) < 0.2).astype(np.uint8) * 255,
        (np.arange(20) % 10).astype(np.uint8),
    )
    for n, a in zip(names, arrays):
        (tmp_path / (n + ".gz")).write_bytes(gzip.compress(idx(a)))
    at = new_app(data_src="Folder")
    assert picked(at) is None
    run(at.text_input(key="data_folder").set_value(str(tmp_path / "missing")))
    run(at.button(key="data_load").click())
    assert "no folder" in at.error[0].value
    run(at.text_input(key="data_folder").set_value(str(tmp_path)))
    run(at.button(key="data_load").click())
    name, shape, counts, _ = picked(at)
    assert name == "mnist" and shape == (1, 28, 28) and sum(counts["test"]) == 20
    assert not at.error


def test_folder_outside_the_data_root_refused(tmp_path, monkeypatch):
    (tmp_path / "root").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("CNNVIZ_DATA_ROOT", str(tmp_path / "root"))
    at = new_app(data_src="Folder")
    assert any("inside" in c.value and "root" in c.value for c in at.caption)
    run(at.text_input(key="data_folder").set_value(str(tmp_path / "elsewhere")))
    run(at.button(key="data_load").click())
    assert "only reads datasets inside" in at.error[0].value
    assert picked(at) is None
