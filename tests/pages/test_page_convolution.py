"""Convolution page (AppTest): every control, the numbers it shows against the engine, impossible
settings explained with working fixes, uploads good and bad, shared links good and bad."""

from __future__ import annotations

import html
import io
import re

import numpy as np
import pytest
from PIL import Image

import cnnviz
from cnnviz import playground

PAGE = "pages/convolution.py"


def text(at) -> str:
    """Markdown, captions, code and the monospaced boxes (HTML: ui.common.show_lines) as read."""
    boxes = [html.unescape(re.sub(r"<[^>]+>", "", h.value)) for h in at.html]
    return "\n".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [c.value for c in at.code]
        + boxes
    )


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def test_defaults_show_sizes_formulas_and_one_cell(open_page) -> None:
    at = open_page(PAGE)
    assert not errors(at)
    size = cnnviz.output_size((256, 256), 3, 1, 0)
    assert size.dims[0].formula in text(at)
    pool = cnnviz.output_size(size.size, 2, 2, op="pool")
    assert pool.dims[0].formula in text(at)
    assert "254 × 254 × 1" in text(at) and "127 × 127 × 1" in text(at)
    assert "The arithmetic of one pixel: map 1, row 127, column 127" in text(at)


@pytest.mark.parametrize(
    "params, chain",
    [
        ({"s": "2", "p": "1"}, "128 × 128 × 1"),
        ({"pk": "same"}, "256 × 256 × 1"),
        ({"pk": "full", "pool": "None"}, "258 × 258 × 1"),
        ({"pk": "valid", "d": "2"}, "252 × 252 × 1"),
        ({"sq": "false", "s": "1", "s_w": "3", "p": "0", "p_w": "2"}, "254 × 86 × 1"),
        ({"ch": "Per channel (depthwise)"}, "254 × 254 × 3"),
        ({"ch": "True RGB convolution", "extra": ["sobel y", "gaussian 3"]}, "254 × 254 × 3"),
        ({"ch": "Grayscale", "extra": "emboss"}, "254 × 254 × 2"),
        ({"kernel": "gaussian 7"}, "250 × 250 × 1"),
        ({"kernel": "random", "kh": "2", "kw": "5", "seed": "7"}, "255 × 252 × 1"),
        ({"kernel": "my own", "kt": "1 2; 3 4; 5 6"}, "254 × 255 × 1"),
        ({"pm": "reflect", "p": "3"}, "260 × 260 × 1"),
        ({"pm": "circular", "p": "2"}, "258 × 258 × 1"),
        ({"pm": "replicate", "p": "1", "b": "0.5"}, "256 × 256 × 1"),
        ({"act": "Leaky ReLU", "slope": "0.2"}, "254 × 254 × 1"),
        ({"act": "Sigmoid", "pool": "Average", "pool_k": "3", "pool_s": "1"}, "252 × 252 × 1"),
        ({"act": "tanh", "pool": "None"}, "254 × 254 × 1"),
        ({"act": "None", "norm": "true", "kernel": "box blur 3"}, "254 × 254 × 1"),
        ({"div": "PuOr_r", "seq": "magma"}, "254 × 254 × 1"),
        ({"size": "64", "sample": "dot"}, "31 × 31 × 1"),
    ],
)
def test_every_control_through_the_url(open_page, params, chain) -> None:
    at = open_page(PAGE, **params)
    assert not errors(at), errors(at)
    assert chain in text(at), text(at)[:600]
    assert "The arithmetic of one pixel" in text(at)


def test_the_clicked_pixel_shows_the_engines_number(open_page) -> None:
    at = open_page(PAGE, s="2", p="1", ch="True RGB convolution", b="0.25")
    at.session_state["map_click"] = {"x": 10, "y": 20, "width": 200, "height": 200, "unix_time": 1}
    at.run(timeout=30)
    row, col = int(20 / 200 * 128), int(10 / 200 * 128)
    assert f"map 1, row {row}, column {col}" in text(at)
    image = cnnviz.sample_image("astronaut", "rgb", 256).array
    s = playground.Settings(
        filters=(cnnviz.preset("sobel_x"),),
        channels="rgb",
        stride=(2, 2),
        padding=(1, 1),
        bias=0.25,
    )
    expected = playground.run(image, s).feature[0, row, col]
    shown = re.search(r"holds \*\*<span data-testid='cell-value'>(.*?)</span>", text(at))
    assert np.float32(shown.group(1)) == expected  # to the last digit
    assert at.query_params["cell"] == f"0-{row}-{col}"


def opened(*keys: str, **params):
    """The page with these expanders open (each is drawn only once the user opens it)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(f"../../{PAGE}")
    for key in keys:
        at.session_state[key] = True
    for key, value in params.items():
        at.query_params[key] = value
    at.run(timeout=30)
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_typed_kernel_becomes_custom_and_lands_in_the_url() -> None:
    at = opened("kernel_more")
    at.text_area(key="kernel_text_0").set_value("0 1 0; 1 -4 1; 0 1 0").run(timeout=30)
    assert at.selectbox(key="kernel").value == "custom"
    assert at.query_params["kt"] == "0 1 0; 1 -4 1; 0 1 0"
    at.text_area(key="kernel_text_1").set_value("1 2 three").run(timeout=30)
    assert any("three" in e for e in errors(at))  # the typed mistake is named, nothing breaks


def test_kernel_resize_keeps_the_centre() -> None:
    at = opened("kernel_more")
    at.number_input(key="kernel_rows_0").set_value(5).run(timeout=30)
    assert at.query_params["kt"] == "0 0 0; -1 0 1; -2 0 2; -1 0 1; 0 0 0"


def test_impossible_conv_is_explained_and_a_fix_works(open_page) -> None:
    at = open_page(
        PAGE, size="64", sample="dot", kernel="random", kh="11", kw="11", d="5", pool="None"
    )
    assert any("cannot work" in e for e in errors(at)), errors(at)
    assert "Input" in text(at)  # the page is not blank: the input is still there
    fixes = [b for b in at.button if b.label.startswith("Set ")]
    assert fixes
    fixes[0].click().run(timeout=30)
    assert not errors(at), errors(at)
    assert "The arithmetic of one pixel" in text(at)


def test_impossible_pooling_is_explained_and_its_fix_sets_the_pool(open_page) -> None:
    at = open_page(PAGE, size="64", sample="dot", s="8", pool_k="8", pool_s="8")
    assert any("Pooling" in e for e in errors(at)), errors(at)
    fix = next(b for b in at.button if b.label.startswith("Set pool size"))
    fix.click().run(timeout=30)
    assert not errors(at), errors(at)
    assert at.slider(key="pool_k").value < 8


def test_bad_link_values_fall_back_with_a_note(open_page) -> None:
    at = open_page(PAGE, kernel="my own", kt="1 2; x", cell="nonsense", s="999", size="7")
    assert not errors(at)
    assert any("could not be read" in w.value for w in at.warning)
    assert "254 × 254 × 1" in text(at)


def test_compare_shows_both_sizes(open_page) -> None:
    at = open_page(PAGE, cmp="true")
    assert "A (your settings): conv 254 × 254 → pool 127 × 127" in text(at)
    assert "B: conv 127 × 127 → pool 63 × 63" in text(at)
    at = open_page(PAGE, cmp="true", b_s="same", b_pool="avg", b_pm="reflect", b_p="1")
    assert "B: conv 256 × 256 → pool 128 × 128" in text(at)


def test_closed_code_is_not_drawn_until_opened(open_page) -> None:
    at = open_page(PAGE, s="2", pm="reflect", p="1")
    assert "nn.Conv2d" not in text(at) and "def conv2d" not in text(at)


def test_code_and_downloads() -> None:
    at = opened("code_open", "source_conv2d_run", "link_open", s="2", pm="reflect", p="1")
    code = text(at)
    assert "def conv2d" in code and "def run" in code  # the engine's own source
    assert "s=2" in code  # the link with the settings
    assert "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1, padding_mode='reflect')" in code
    assert "x = F.pad(x, (1, 1, 1, 1), mode='reflect')" in code
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Feature maps (PNG)", "Pooled maps (PNG)"]


@pytest.mark.parametrize(
    "image, expect",
    [
        (np.zeros((40, 30, 3), np.uint8), "Working on 30 × 40 px."),
        (np.full((20, 20), 200, np.uint8), "Working on 20 × 20 px."),
    ],
)
def test_upload_a_picture(open_page, image, expect) -> None:
    at = open_page(PAGE, src="Upload")
    at.file_uploader(key="upload").upload("mine.png", png(image), "image/png").run(timeout=30)
    assert not errors(at), errors(at)
    assert expect in text(at)


def test_a_bad_upload_gets_one_sentence_and_the_page_stays(open_page) -> None:
    at = open_page(PAGE, src="Upload")
    at.file_uploader(key="upload").upload(
        "notes.png", b"just text, not a picture", "image/png"
    ).run(timeout=30)
    main, side = [e.value for e in at.main.error], [e.value for e in at.sidebar.error]
    assert len(side) == 1 and "notes.png" in side[0]  # beside the uploader
    assert len(main) == 1 and "notes.png" in main[0]  # and where the eyes are: the main area
    assert "The arithmetic of one pixel" in text(at)  # the sample is used meanwhile


def test_camera_picture_is_used_and_kept_when_switching_back(open_page) -> None:
    at = open_page(PAGE, src="Camera")
    assert "localhost or over HTTPS" in text(at)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(
        buf, "JPEG"
    )
    at.camera_input(key="camera").set_value(("shot.jpg", buf.getvalue(), "image/jpeg"))
    at.run(timeout=30)
    assert not errors(at), errors(at)
    assert "Working on 64 × 48 px." in text(at) and "46 × 62 × 1" in text(at)
    at.segmented_control(key="src").set_value("sample").run(timeout=30)
    at.segmented_control(key="src").set_value("upload").run(timeout=30)
    assert "Working on 64 × 48 px." in text(at)  # the picture is kept for this session


def test_unusable_link_values_are_named_and_defaults_shown(open_page) -> None:
    at = open_page(
        PAGE,
        s="999",
        act="Banana",
        sq="maybe",
        b="abc",
        pool_k="3",
        ch="Grayscale",
        pool="Max",
        kernel="sobel x",
    )
    note = " ".join(w.value for w in at.warning)
    for bad in ("s=999", "act=Banana", "sq=maybe", "b=abc"):
        assert bad in note
    for fine in ("pool_k", "ch=", "pool=", "kernel="):  # valid, or the default said out loud
        assert fine not in note
    assert at.slider(key="s").value == 1 and at.slider(key="pool_k").value == 3


def test_a_clean_link_gets_no_note(open_page) -> None:
    at = open_page(PAGE, s="1", p="0", act="ReLU", src="Sample", ch="True RGB convolution")
    assert not at.warning


def test_an_upload_survives_a_new_session_through_its_link(open_page) -> None:
    at = open_page(PAGE, src="Upload")
    picture = np.random.default_rng(3).integers(0, 255, (40, 30, 3), dtype=np.uint8)
    at.file_uploader(key="upload").upload("mine.png", png(picture), "image/png").run(timeout=30)
    token = at.query_params["img"]
    assert len(token) == 32
    again = open_page(PAGE, src="Upload", img=token)  # a reload: a new session, the same link
    assert "Working on 30 × 40 px." in text(again) and not errors(again)
    gone = open_page(PAGE, src="Upload", img="0" * 32)
    assert "no longer on the server" in text(gone) and "Working on 256 × 256 px." in text(gone)
    sample = open_page(PAGE, src="Sample", img=token)
    assert "Working on 256 × 256 px." in text(sample) and "img" not in sample.query_params


def test_the_shelf_forgets_the_oldest_pictures_first(monkeypatch) -> None:
    from cnnviz.ui import image_input

    monkeypatch.setattr(image_input, "SHELF_BYTES", 10)
    monkeypatch.setattr(image_input, "_shelf", type(image_input._shelf)())
    first = image_input.shelve("a", b"123456")
    second = image_input.shelve("b", b"abcdef")
    assert image_input.unshelve(first) is None and image_input.unshelve(second) == ("b", b"abcdef")


def test_depthwise_maps_are_captioned_colour_by_filter_in_torchs_order() -> None:
    """Two filters, depthwise: six maps, each one (colour, filter) pair, named as torch orders
    them (R with each filter, then G, then B); the shown code builds that weight."""
    at = opened("code_open", ch="Per channel (depthwise)", extra="sobel y", map="2")
    assert not errors(at), errors(at)
    page = text(at)
    assert "254 × 254 × 6" in page
    assert (
        "1 = R × your kernel; 2 = R × sobel y; 3 = G × your kernel; 4 = G × sobel y; "
        "5 = B × your kernel; 6 = B × sobel y"
    ) in page
    assert "Feature map 2: R × sobel y" in page
    assert "channel R: window × kernel slice" in page  # map 2 reads the red channel only
    assert "channel G:" not in page and "channel B:" not in page
    assert "repeat(3, 1, 1, 1)" in page and "output channel c*2 + j" in page
    assert "filters' worth" not in page  # 6 maps from 2 filters


def shown_cell(at) -> np.float32:
    return np.float32(re.search(r"cell-value'>(.*?)</span>", text(at)).group(1))


def test_two_users_whose_pictures_differ_in_one_pixel_each_see_their_own_maps(open_page) -> None:
    """Results and pictures are shared server-wide by content: a one-pixel difference must be
    another entry, never the other user's maps."""
    from cnnviz import memo

    mine = np.random.default_rng(7).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    theirs = mine.copy()
    theirs[11, 12] = 255 - theirs[11, 12]  # inside the window of output cell (10, 10)
    params = {"src": "Upload", "size": "64", "pool": "None", "act": "None", "cell": "0-10-10"}
    s = playground.Settings(filters=(cnnviz.preset("sobel_x"),))
    runs = memo.SHARED.misses
    seen = []
    for picture in (mine, theirs, mine):
        at = open_page(PAGE, **params)
        at.file_uploader(key="upload").upload("p.png", png(picture), "image/png").run(timeout=30)
        assert not errors(at), errors(at)
        assert "map 1, row 10, column 10" in text(at)
        own = playground.run(cnnviz.load_image(png(picture), mode="rgb").array, s)
        assert shown_cell(at) == own.feature[0, 10, 10]  # this user's own picture, exactly
        seen.append(shown_cell(at))
    assert seen[0] != seen[1] and seen[0] == seen[2]
    assert memo.SHARED.misses > runs  # the results did go through the shared cache
