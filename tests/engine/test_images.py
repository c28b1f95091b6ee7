"""The guarded image decoder: bad files give one clear ImageError, odd good files load right.

Every file is built here with Pillow, zlib and struct (small, in memory); nothing is read from
disk except scikit-image's bundled sample photos.
"""

from __future__ import annotations

import builtins
import gzip
import io
import re
import socket
import struct
import subprocess
import time
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import EpsImagePlugin, GifImagePlugin, Image, ImageFile

from cnnviz.images import (
    ALLOWED_FORMATS,
    SAMPLES,
    ImageError,
    LoadedImage,
    load_image,
    sample_image,
)
from cnnviz.render.png import array_to_png, to_uint8

# Pillow warns (it does not raise) while parsing damaged EXIF/TIFF tags; those warnings go to the
# server log, never to the student, so they are noise here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

# ---------------------------------------------------------------------------------------------
# Building files


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _encode_frames(frames: list[Image.Image], fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **kw)
    return buf.getvalue()


def _chunk(ctype: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG whose IHDR claims w×h 8-bit gray, followed by one row of data and IEND (tiny)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * (min(w, 4096) + 1)))
        + _chunk(b"IEND", b"")
    )


def _box(btype: bytes, payload: bytes) -> bytes:
    """An ISO-BMFF box (HEIC, AVIF, MP4)."""
    return struct.pack(">I", 8 + len(payload)) + btype + payload


_RNG = np.random.default_rng(20240607)
_NOISE = Image.fromarray(_RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8))  # incompressible
_PNG = _encode(_NOISE, "PNG")
_JPEG = _encode(_NOISE, "JPEG", quality=90)
_GIF = _encode(_NOISE.convert("P"), "GIF")
_IDAT = _PNG.index(b"IDAT")  # the chunk type; its length is the 4 bytes before
_IDAT_LEN = struct.unpack(">I", _PNG[_IDAT - 4 : _IDAT])[0]
_SOS = _JPEG.index(b"\xff\xda")


def _png_corrupt_idat() -> bytes:
    """Scramble the zlib stream inside IDAT but keep the CRC right, so only decoding fails."""
    data = bytearray(_PNG[_IDAT + 4 : _IDAT + 4 + _IDAT_LEN])
    data[5:25] = b"\xff" * 20
    return _PNG[: _IDAT - 4] + _chunk(b"IDAT", bytes(data)) + _PNG[_IDAT + 8 + _IDAT_LEN :]


def _bomb_png() -> bytes:
    """10000×10000 one-bit PNG: about 12 KB on disk, 100 megapixels when decoded."""
    return _encode(Image.new("1", (10_000, 10_000)), "PNG")


_BOMB = _bomb_png()


def _jpeg_claiming(w: int, h: int) -> bytes:
    """A small real JPEG whose SOF0 segment is patched to claim w×h."""
    data = bytearray(_JPEG)
    sof = data.index(b"\xff\xc0")  # FFC0, length(2), precision(1), height(2), width(2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def _gif_claiming_screen(w: int, h: int) -> bytes:
    """A small real GIF whose logical screen descriptor is patched to w×h."""
    data = bytearray(_GIF)
    data[6:10] = struct.pack("<HH", w, h)
    return bytes(data)


def _tiff_claiming(w: int, h: int) -> bytes:
    """A small real (little-endian, uncompressed) TIFF whose width/height tags claim w×h."""
    data = bytearray(_encode(Image.new("L", (4, 4)), "TIFF"))
    assert data[:4] == b"II*\x00"
    ifd = struct.unpack("<I", data[4:8])[0]
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for entry in range(count):
        at = ifd + 2 + 12 * entry
        tag = struct.unpack("<H", data[at : at + 2])[0]
        if tag in (256, 257):  # ImageWidth, ImageLength, rewritten as LONG
            data[at : at + 12] = struct.pack("<HHII", tag, 4, 1, w if tag == 256 else h)
    return bytes(data)


def _float_tiff(values: list[float], shape: tuple[int, int] = (2, 2)) -> bytes:
    return _encode(Image.fromarray(np.array(values, np.float32).reshape(shape), mode="F"), "TIFF")


def _bmp_bad_header_size() -> bytes:
    data = bytearray(_encode(Image.new("RGB", (4, 4)), "BMP"))
    data[14:18] = struct.pack("<I", 7)  # DIB header size 7: no such header
    return bytes(data)


def _bmp_zero_width() -> bytes:
    data = bytearray(_encode(Image.new("RGB", (4, 4)), "BMP"))
    data[18:22] = struct.pack("<i", 0)
    return bytes(data)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cat.png", _PNG)
    return buf.getvalue()


def _ico_garbage() -> bytes:
    """An ICO directory with one entry pointing far past the end of the file."""
    entry = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, 1000, 22)
    return b"\x00\x00\x01\x00\x01\x00" + entry + b"junk"


# (id, bytes, extra keyword arguments for load_image)
_BAD_FILES: list[tuple[str, bytes, dict]] = [
    ("empty", b"", {}),
    ("one-byte", b"\x89", {}),
    ("two-bytes-jpeg-soi", b"\xff\xd8", {}),
    ("text-renamed-png", b"These are my holiday notes, saved as photo.png\n", {}),
    ("utf16-text", "hello, not an image".encode("utf-16"), {}),
    ("html", b"<!DOCTYPE html>\n<html><body><img src='cat.png'></body></html>\n", {}),
    ("json", b'{"image": "cat.png", "size": [32, 32]}\n', {}),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', {}),
    (
        "svg-xml-prolog",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        {},
    ),
    ("heic", _box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + _box(b"meta", b"\x00" * 32), {}),
    (
        "avif-header",
        _box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1miaf") + _box(b"meta", b"\x00" * 32),
        {},
    ),
    ("mp4", _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + b"\x00" * 32, {}),
    ("eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto showpage\n", {}),
    ("eps-dos-binary", b"\xc5\xd0\xd3\xc6" + struct.pack("<II", 30, 40) + b"\x00" * 40, {}),
    ("pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n", {}),
    ("psd", b"8BPS\x00\x01" + b"\x00" * 30, {}),
    ("windows-exe", b"MZ\x90\x00" + b"\x00" * 60, {}),
    ("zip", _zip(), {}),
    ("gzip", gzip.compress(_PNG), {}),
    ("png-signature-only", _PNG[:8], {}),
    ("png-cut-in-ihdr", _PNG[:20], {}),
    ("png-cut-after-ihdr", _PNG[:33], {}),
    ("png-cut-at-idat-start", _PNG[: _IDAT + 6], {}),
    ("png-cut-idat-quarter", _PNG[: _IDAT + 4 + _IDAT_LEN // 4], {}),
    ("png-cut-idat-half", _PNG[: _IDAT + 4 + _IDAT_LEN // 2], {}),
    ("png-corrupt-idat", _png_corrupt_idat(), {}),
    ("png-signature-random", b"\x89PNG\r\n\x1a\n" + _RNG.bytes(300), {}),
    ("png-zero-width", _png_header_only(0, 10), {}),
    ("jpeg-cut-before-scan", _JPEG[:_SOS], {}),
    ("jpeg-cut-mid-scan", _JPEG[: _SOS + (len(_JPEG) - _SOS) // 2], {}),
    ("jpeg-cut-before-eoi", _JPEG[:-2], {}),
    ("jpeg-cut-in-header", _JPEG[:20], {}),
    ("gif-header-only", _GIF[:13], {}),
    ("gif-cut-half", _GIF[: len(_GIF) // 2], {}),
    ("bomb-png-10000x10000", _BOMB, {}),
    ("png-header-20000x20000", _png_header_only(20_000, 20_000), {}),
    ("png-header-8000x8000", _png_header_only(8_000, 8_000), {}),
    ("jpeg-sof-65500x65500", _jpeg_claiming(65_500, 65_500), {}),
    ("gif-screen-30000x30000", _gif_claiming_screen(30_000, 30_000), {}),
    ("tiff-100000x100000", _tiff_claiming(100_000, 100_000), {}),
    ("ppm-99999x99999", b"P6\n99999 99999\n255\n" + b"\x00" * 16, {}),
    ("bmp-bad-header-size", _bmp_bad_header_size(), {}),
    ("bmp-zero-width", _bmp_zero_width(), {}),
    ("bmp-cut-header", _encode(Image.new("RGB", (4, 4)), "BMP")[:20], {}),
    ("tiff-cut", _encode(_NOISE, "TIFF")[:100], {}),
    ("tiff-float-nan", _float_tiff([0.0, float("nan"), 0.5, 1.0]), {}),
    ("tiff-float-inf", _float_tiff([0.0, float("inf"), 0.5, 1.0]), {}),
    ("tiff-float-minus-inf", _float_tiff([0.0, float("-inf"), 0.5, 1.0]), {}),
    ("over-max-bytes", _PNG + b"\x00" * (2**20), {"max_bytes": 2**20}),
    ("ico-garbage", _ico_garbage(), {}),
    ("ico-no-entries", b"\x00\x00\x01\x00\x00\x00", {}),
    # icons are refused outright: an ICO's embedded PNG is decoded before any size check
    ("ico-valid-icon", _encode(Image.new("RGB", (16, 16), "red"), "ICO"), {}),
    ("webp-truncated", _encode(Image.new("RGB", (32, 32), (1, 2, 3)), "WEBP")[:30], {}),
    ("webp-riff-header-only", b"RIFF\x10\x00\x00\x00WEBPVP8 ", {}),
    ("random-bytes", _RNG.bytes(1000), {}),
]

_EXCEPTION_NAMES = sorted(
    {
        name
        for name, obj in vars(builtins).items()
        if isinstance(obj, type) and issubclass(obj, BaseException)
    }
    | {
        "UnidentifiedImageError",
        "DecompressionBombError",
        "DecompressionBombWarning",
        "ImageError",
        "struct.error",
        "zlib.error",
    }
)
_PATH_LIKE = re.compile(r"(?:^|[\s'\"(])/(?:tmp|work|usr|home|var|etc|opt)\b|[A-Za-z]:\\|\.py\b")


def _assert_student_message(message: str) -> None:
    """A sentence for a person: no traceback, errno, file path, object address or class name."""
    assert message.strip(), "empty message"
    assert message.endswith("."), message
    assert message[0].isupper(), message
    for forbidden in ("Traceback", "Errno", "site-packages", "BytesIO", " object at 0x"):
        assert forbidden not in message, message
    assert not _PATH_LIKE.search(message), message
    for name in _EXCEPTION_NAMES:
        assert not re.search(rf"\b{re.escape(name)}\b", message), (name, message)


@pytest.fixture
def no_subprocess(monkeypatch):
    """Record (and refuse) any attempt to start a program, e.g. Ghostscript for EPS files.

    load_image catches everything, so raising alone could be swallowed: the list is the proof.
    """
    started: list[tuple] = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError(f"load_image tried to start a program: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    # Pretend Ghostscript is installed, so an EPS plugin reached by mistake would really try it.
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", "gs")
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    return started


def test_risky_plugins_are_not_allowed():
    assert not {"EPS", "PSD", "PDF", "SVG", "FITS", "JPEG2000", "SPIDER"} & set(ALLOWED_FORMATS)


def test_corpus_is_big_and_ids_are_unique():
    ids = [case_id for case_id, _, _ in _BAD_FILES]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("data", "kwargs"), [(d, k) for _, d, k in _BAD_FILES], ids=[i for i, _, _ in _BAD_FILES]
)
def test_bad_file_gives_one_clear_image_error(data, kwargs, no_subprocess):
    with pytest.raises(ImageError) as info:
        load_image(data, **kwargs)
    _assert_student_message(str(info.value))
    assert not no_subprocess


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "EPS"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (_box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic"), "HEIC"),
        (b"%PDF-1.7\n", "PDF"),
    ],
    ids=["eps", "svg", "heic", "pdf"],
)
def test_foreign_formats_are_named_and_advise_png_or_jpeg(data, kind, no_subprocess):
    with pytest.raises(ImageError, match=kind) as info:
        load_image(data)
    assert "PNG or JPEG" in str(info.value)
    assert not no_subprocess  # Ghostscript never started


def test_a_valid_icon_is_named_not_called_damaged():
    with pytest.raises(ImageError, match=r"Windows icon \(ICO\)\)\. Export it as PNG or JPEG"):
        load_image(_encode(Image.new("RGB", (16, 16), "red"), "ICO"))


def test_tiny_binary_file_is_not_called_text():
    """Regression: a 1-byte or 2-byte binary file used to be described as "a text file"."""
    for data in (b"\x89", b"\xff\xd8"):
        with pytest.raises(ImageError) as info:
            load_image(data)
        assert "text file" not in str(info.value)


def test_real_text_file_is_called_text():
    with pytest.raises(ImageError, match="text file"):
        load_image("Café notes, cut in the middle of a character: é".encode()[:-1])


def test_truncated_png_and_jpeg_say_damaged():
    for data, fmt in ((_PNG[: _IDAT + 4 + _IDAT_LEN // 2], "PNG"), (_JPEG[:-200], "JPEG")):
        with pytest.raises(ImageError, match=rf"This {fmt} image .*damaged or incomplete"):
            load_image(data)


@pytest.fixture
def no_decoding(monkeypatch):
    """Record every pixel decode (ImageFile.load): a refused bomb must never get that far."""
    loads: list[str] = []
    real_load = ImageFile.ImageFile.load

    def recording_load(self):
        loads.append(self.format)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return loads


def test_decompression_bomb_is_refused_before_decoding(no_decoding):
    assert len(_BOMB) < 50_000  # 100 megapixels in a few KB
    start = time.perf_counter()
    with pytest.raises(ImageError, match="too large") as info:
        load_image(_BOMB)
    assert no_decoding == []
    assert time.perf_counter() - start < 1.0  # decoding it takes over a second and ~0.5 GB
    assert "megapixels" in str(info.value)


def test_pillow_bomb_warning_is_an_error_even_with_a_generous_pixel_cap(no_decoding):
    """Above Pillow's own limit (89 megapixels) its warning must stop the load, not just warn."""
    with pytest.raises(ImageError, match="too large") as info:
        load_image(_BOMB, max_pixels=150_000_000)
    assert no_decoding == []
    _assert_student_message(str(info.value))


def test_no_decoding_fixture_sees_a_normal_load(no_decoding):
    load_image(_PNG)
    assert no_decoding and set(no_decoding) == {"PNG"}  # the fixture does see loads


def test_image_over_own_pixel_cap_names_its_size():
    with pytest.raises(ImageError) as info:
        load_image(_png_header_only(8_000, 8_000))
    message = str(info.value)
    assert "8000×8000" in message and "64.0 megapixels" in message and "40 megapixels" in message


def test_max_pixels_option_is_respected():
    data = _encode(Image.new("L", (100, 100)), "PNG")
    assert load_image(data, max_pixels=10_000).size == (100, 100)
    with pytest.raises(ImageError, match="100×100"):
        load_image(data, max_pixels=9_999)


def test_over_max_bytes_is_refused_before_opening(monkeypatch):
    def no_open(*args, **kwargs):
        raise AssertionError("Image.open was called on an oversized file")

    monkeypatch.setattr(Image, "open", no_open)
    with pytest.raises(ImageError, match="MB") as info:
        load_image(b"\x00" * (2 * 2**20), max_bytes=2**20)
    assert "2.0 MB" in str(info.value)


def test_nan_message_counts_the_bad_pixels():
    with pytest.raises(ImageError, match=r"has 2 pixel\(s\) that are NaN or infinite"):
        load_image(_float_tiff([float("nan"), 0.0, float("inf"), 1.0]))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"mode": "cmyk"}, "mode"),
        ({"mode": "RGB"}, "mode"),
        ({"max_side": 0}, "max_side"),
        ({"max_side": -5}, "max_side"),
        ({"max_side": 2.5}, "max_side"),
    ],
    ids=["mode-cmyk", "mode-upper-RGB", "max-side-0", "max-side-negative", "max-side-float"],
)
def test_bad_options_raise_a_clear_value_error(kwargs, word):
    """Options are the programmer's mistake, not the student's: a plain ValueError naming both."""
    with pytest.raises(ValueError) as info:
        load_image(_PNG, **kwargs)
    message = str(info.value)
    assert word in message and repr(next(iter(kwargs.values()))) in message


def test_non_bytes_input_is_a_type_error():
    with pytest.raises(TypeError, match="bytes"):
        load_image("photo.png")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Good oddities


def _check_loaded(result: LoadedImage, mode: str = "rgb") -> np.ndarray:
    """Invariants of every successful load; returns the array."""
    a = result.array
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    assert a.ndim == (3 if mode == "rgb" else 2)
    if mode == "rgb":
        assert a.shape[2] == 3
    assert (a.shape[1], a.shape[0]) == result.size
    assert min(result.size) >= 1
    assert np.isfinite(a).all()
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert a.flags.c_contiguous
    assert all(isinstance(n, str) and n.endswith(".") for n in result.notes)
    return a


def test_16bit_png_gradient_is_stretched_not_clipped():
    ramp = np.linspace(300, 60_000, 64 * 32).reshape(32, 64).astype(np.uint16)
    im = Image.fromarray(ramp)
    assert im.mode == "I;16"
    result = load_image(_encode(im, "PNG"), mode="gray")
    a = _check_loaded(result, "gray")
    assert a[0, 0] == 0.0 and a[-1, -1] == 1.0
    assert a.ravel()[np.argmin(ramp)] == 0.0 and a.ravel()[np.argmax(ramp)] == 1.0
    assert np.all(np.diff(a.ravel()) > 0)  # a real gradient, not a white sheet
    assert any("16-bit" in n for n in result.notes)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_i16_values_1000_to_1003_spread_to_0_1(fmt):
    im = Image.fromarray(np.array([[1000, 1001], [1002, 1003]], np.uint16))
    assert im.mode == "I;16"
    result = load_image(_encode(im, fmt), mode="gray")
    a = _check_loaded(result, "gray")
    np.testing.assert_allclose(a, [[0, 1 / 3], [2 / 3, 1]], atol=1e-6)
    assert any("16-bit" in n and "1000" in n and "1003" in n for n in result.notes)


def test_32bit_integer_image_is_scaled_by_min_max():
    values = np.array([[-5, 0], [100, 70_000]], np.int32)
    result = load_image(_encode(Image.fromarray(values), "TIFF"), mode="gray")
    a = _check_loaded(result, "gray")
    np.testing.assert_allclose(a, (values + 5) / 70_005, atol=1e-6)
    assert any("32-bit integer" in n for n in result.notes)


def test_float_image_is_scaled_by_min_max():
    result = load_image(_float_tiff([-1.5, 0.0, 0.5, 2.5]))
    a = _check_loaded(result, "rgb")
    np.testing.assert_allclose(a[:, :, 0], [[0, 0.375], [0.5, 1]], atol=1e-6)
    assert np.array_equal(a[:, :, 0], a[:, :, 2])
    assert any("32-bit float" in n for n in result.notes)


def test_float_image_with_huge_range_has_no_nan():
    """Regression: float32 arithmetic overflowed for a range over 3.4e38 and gave NaN."""
    result = load_image(_float_tiff([-3e38, 0.0, 1.0, 3e38]), mode="gray")
    a = _check_loaded(result, "gray")
    np.testing.assert_allclose(a, [[0, 0.5], [0.5, 1]], atol=1e-6)


def test_constant_float_image_is_black_with_a_note():
    result = load_image(_float_tiff([7.0] * 4), mode="gray")
    assert not _check_loaded(result, "gray").any()
    assert any("same value" in n for n in result.notes)


def test_cmyk_jpeg_becomes_rgb_and_cyan_stays_cyan():
    data = _encode(Image.new("CMYK", (8, 8), (255, 0, 0, 0)), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    a = _check_loaded(load_image(data))
    r, g, b = a[4, 4]
    assert r < 0.2 and g > 0.8 and b > 0.8


def test_palette_png_transparent_index_comes_out_white():
    im = Image.new("P", (4, 4), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # index 0 red (hidden), 1 blue
    im.putpixel((0, 0), 1)
    result = load_image(_encode(im, "PNG", transparency=0))
    a = _check_loaded(result)
    np.testing.assert_allclose(a[2, 2], [1, 1, 1])  # white, not the hidden red
    np.testing.assert_allclose(a[0, 0], [0, 0, 1])
    assert any("white" in n for n in result.notes)


def test_la_image_is_composited_on_white():
    im = Image.new("LA", (2, 1))
    im.putpixel((0, 0), (0, 255))  # opaque black
    im.putpixel((1, 0), (0, 0))  # fully transparent black
    a = _check_loaded(load_image(_encode(im, "PNG"), mode="gray"), "gray")
    np.testing.assert_allclose(a, [[0.0, 1.0]])


def test_half_transparent_red_on_white_is_pink():
    data = _encode(Image.new("RGBA", (4, 4), (255, 0, 0, 128)), "PNG")
    a = _check_loaded(load_image(data))
    np.testing.assert_allclose(a[1, 1], [1.0, 0.5, 0.5], atol=0.01)


def test_mode_1_becomes_floats_not_booleans():
    im = Image.new("1", (4, 2), 0)
    im.putpixel((1, 0), 1)
    for mode in ("rgb", "gray"):
        a = _check_loaded(load_image(_encode(im, "PNG"), mode=mode), mode)
        assert a.dtype == np.float32
        gray = a if mode == "gray" else a[:, :, 0]
        np.testing.assert_array_equal(gray, [[0, 1, 0, 0], [0, 0, 0, 0]])


def _exif_rotated_jpeg(size: tuple[int, int], mark: int) -> bytes:
    """A white JPEG with a red mark×mark square at the stored top-left, EXIF orientation 6."""
    im = Image.new("RGB", size, (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, mark, mark))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90° clockwise to view
    return _encode(im, "JPEG", quality=95, exif=exif)


def test_exif_orientation_6_is_applied():
    result = load_image(_exif_rotated_jpeg((40, 20), 8))
    a = _check_loaded(result)
    assert a.shape == (40, 20, 3) and result.size == (20, 40) and result.original_size == (20, 40)
    # The stored top-left corner is shown at the top-right by a viewer.
    red = np.array([1.0, 0.0, 0.0])
    assert np.abs(a[1:5, -5:-1] - red).max() < 0.1
    for corner in (a[:4, :4], a[-4:, :4], a[-4:, -4:]):
        assert corner.min() > 0.9
    assert any("EXIF" in n for n in result.notes)


def test_exif_rotated_large_jpeg_is_upright_and_downscaled():
    result = load_image(_exif_rotated_jpeg((2000, 1000), 200))
    a = _check_loaded(result)
    assert result.original_size == (1000, 2000)
    assert result.size == (256, 512) and result.downscaled
    assert a[5, -5, 0] > 0.9 and a[5, -5, 1] < 0.1 and a[5, 5].min() > 0.9


_FRAMES = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]


@pytest.mark.parametrize(
    ("data", "note"),
    [
        (_encode_frames(_FRAMES, "GIF", duration=100, loop=0), "first frame"),
        (_encode_frames(_FRAMES, "PNG", duration=100), "first frame"),
        (_encode_frames(_FRAMES, "TIFF"), "first page"),
        (_encode_frames(_FRAMES, "WEBP", lossless=True, duration=100), "first frame"),
    ],
    ids=["animated-gif", "apng", "multipage-tiff", "animated-webp"],
)
def test_multi_frame_files_use_frame_zero_and_say_so(data, note):
    result = load_image(data)
    a = _check_loaded(result)
    np.testing.assert_allclose(a[4, 4], [1, 0, 0], atol=0.02)  # frame 0 is red
    assert any(note in n for n in result.notes)


def test_frames_are_never_counted(monkeypatch):
    """Counting frames reads the whole file (slow for a long GIF); only is_animated is used."""

    def counted(self):
        raise AssertionError("n_frames was read")

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "n_frames", property(counted))
    result = load_image(_encode_frames(_FRAMES, "GIF", duration=100))
    assert any("first frame" in n for n in result.notes)


def test_gif_transparent_index_comes_out_white():
    im = Image.new("P", (4, 2), 0)
    im.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 red (hidden), 1 black
    im.paste(1, (2, 0, 4, 2))
    a = _check_loaded(load_image(_encode(im, "GIF", transparency=0), mode="gray"), "gray")
    np.testing.assert_allclose(a, [[1, 1, 0, 0]] * 2)


def test_large_half_transparent_image_is_pink_after_downscaling():
    """Downscaling happens before compositing; the result must be the same pink."""
    result = load_image(_encode(Image.new("RGBA", (2000, 1000), (255, 0, 0, 128)), "PNG"))
    a = _check_loaded(result)
    assert result.size == (512, 256)
    np.testing.assert_allclose(a, np.broadcast_to([1.0, 0.5, 0.5], a.shape), atol=0.01)
    assert "Transparent areas were placed on white." in result.notes


@pytest.mark.parametrize("mode", ["YCbCr", "LAB", "CMYK"])
def test_other_colour_spaces_in_tiff_become_rgb(mode):
    red = Image.new("RGB", (4, 4), (255, 0, 0)).convert(mode)
    data = _encode(red, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == mode
    a = _check_loaded(load_image(data))
    assert a[..., 0].min() > 0.95 and a[..., 1:].max() < 0.05


@pytest.mark.parametrize(
    "app1",
    [
        b"Exif\x00\x00MM\x00*\xff\xff\xff\xff\x00\x00",  # IFD offset far past the end
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff",  # 65535 entries, no data
        b"Exif\x00\x00garbage",
    ],
    ids=["ifd-past-end", "entry-count-lies", "garbage"],
)
def test_damaged_exif_loads_the_image_as_stored(app1):
    jpeg = _encode(Image.new("RGB", (6, 4), (0, 255, 0)), "JPEG", quality=95)
    data = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]
    a = _check_loaded(load_image(data))
    assert a.shape == (4, 6, 3) and a[..., 1].min() > 0.9


def test_unknown_exif_orientation_is_ignored():
    exif = Image.Exif()
    exif[0x0112] = 9
    result = load_image(_encode(Image.new("RGB", (6, 4)), "JPEG", exif=exif))
    assert result.size == (6, 4) and not any("EXIF" in n for n in result.notes)


def test_pillow_global_state_is_left_alone():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    for _, data, kwargs in _BAD_FILES:
        with pytest.raises(ImageError):
            load_image(data, **kwargs)
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES) == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # nobody in cnnviz may switch it on


def test_one_by_one_pixel():
    result = load_image(_encode(Image.new("RGB", (1, 1), (51, 102, 204)), "PNG"))
    a = _check_loaded(result)
    assert a.shape == (1, 1, 3) and not result.downscaled
    np.testing.assert_allclose(a[0, 0], [0.2, 0.4, 0.8], atol=1e-6)


@pytest.mark.parametrize(("w", "h"), [(20_000, 1), (1, 20_000)])
def test_extreme_aspect_ratio_keeps_one_pixel(w, h):
    result = load_image(_encode(Image.new("L", (w, h), 128), "PNG"), mode="gray")
    a = _check_loaded(result, "gray")
    assert result.original_size == (w, h) and result.downscaled
    assert max(result.size) == 512 and min(result.size) == 1
    np.testing.assert_allclose(a, 128 / 255, atol=1e-6)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_image_is_downscaled_with_a_note(fmt):
    data = _encode(Image.new("RGB", (2000, 1000), (0, 128, 255)), fmt)
    result = load_image(data)
    a = _check_loaded(result)
    assert a.shape == (256, 512, 3)
    assert result.size == (512, 256) and result.original_size == (2000, 1000)
    assert result.downscaled
    assert any("2000×1000" in n and "512×256" in n for n in result.notes)
    np.testing.assert_allclose(a[128, 256], [0, 128 / 255, 1], atol=0.03)


def test_max_side_option():
    result = load_image(_encode(Image.new("RGB", (300, 150)), "PNG"), max_side=100)
    assert result.size == (100, 50) and result.array.shape == (50, 100, 3)


def test_small_image_is_not_downscaled():
    result = load_image(_PNG)
    assert result.size == result.original_size == (16, 16)
    assert not result.downscaled and result.notes == () and result.format == "PNG"


@pytest.mark.parametrize(
    "data",
    [
        _PNG,
        _JPEG,
        _GIF,
        _encode(_NOISE, "BMP"),
        _encode(_NOISE, "TIFF"),
        _encode(_NOISE, "WEBP"),
        _encode(_NOISE, "PPM"),
        _encode(_NOISE.convert("L"), "PNG"),
        _encode(_NOISE.convert("RGBA"), "PNG"),
    ],
    ids=["png", "jpeg", "gif", "bmp", "tiff", "webp", "ppm", "png-gray", "png-rgba"],
)
def test_gray_and_rgb_shapes(data):
    rgb = _check_loaded(load_image(data, mode="rgb"), "rgb")
    gray = _check_loaded(load_image(data, mode="gray"), "gray")
    assert rgb.shape == (16, 16, 3) and gray.shape == (16, 16)


def test_gray_uses_601_luma():
    data = _encode(Image.new("RGB", (2, 2), (255, 0, 0)), "PNG")
    gray = load_image(data, mode="gray").array
    np.testing.assert_allclose(gray, round(0.299 * 255) / 255, atol=1 / 255)


def test_result_does_not_share_memory_with_the_input():
    buf = bytearray(_PNG)
    result = load_image(buf)
    before = result.array.copy()
    buf[:] = b"\x00" * len(buf)
    np.testing.assert_array_equal(result.array, before)
    assert result.array.flags.writeable  # a fresh array the caller owns


# ---------------------------------------------------------------------------------------------
# Samples


@pytest.fixture
def no_network(monkeypatch):
    attempts: list[tuple] = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise AssertionError(f"network access to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_loads_offline_in_both_modes_read_only(name, no_network):
    sample_image.cache_clear()  # really load, not a cached copy
    for mode, ndim in (("rgb", 3), ("gray", 2)):
        result = sample_image(name, mode)
        a = _check_loaded(result, mode)
        assert a.ndim == ndim and max(result.size) <= 512
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[0, 0] = 0.5
        assert sample_image(name, mode) is result  # cached
    assert not no_network
    assert SAMPLES[name].endswith(".")


def test_unknown_sample_is_an_image_error():
    with pytest.raises(ImageError, match="no sample called") as info:
        sample_image("unicorn")
    _assert_student_message(str(info.value))


# ---------------------------------------------------------------------------------------------
# Properties: nothing but ImageError ever escapes


def _load_or_image_error(data: bytes, mode: str = "rgb") -> None:
    try:
        result = load_image(data, mode=mode)
    except ImageError as exc:
        _assert_student_message(str(exc))
    else:
        _check_loaded(result, mode)


@settings(deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["rgb", "gray"]))
def test_random_bytes_never_raise_anything_but_image_error(data, mode):
    _load_or_image_error(data, mode)


@settings(deadline=None)
@given(st.sampled_from(["rgb", "gray"]), st.data())
def test_random_bytes_after_a_real_signature(mode, draw):
    signature = draw.draw(
        st.sampled_from([_PNG[:8], _PNG[:33], b"\xff\xd8\xff", b"GIF89a", b"II*\x00", b"BM"])
    )
    _load_or_image_error(signature + draw.draw(st.binary(max_size=500)), mode)


_SEEDS = {"png": _PNG, "jpeg": _JPEG, "gif": _GIF}


@pytest.mark.parametrize("fmt", list(_SEEDS))
@settings(deadline=None)
@given(st.data())
def test_random_truncation_gives_image_error_or_an_image(fmt, draw):
    seed = _SEEDS[fmt]
    cut = draw.draw(st.integers(0, len(seed) - 1))
    _load_or_image_error(seed[:cut])


@pytest.mark.parametrize("fmt", list(_SEEDS))
@settings(deadline=None)
@given(st.data())
def test_random_byte_corruption_gives_image_error_or_an_image(fmt, draw):
    data = bytearray(_SEEDS[fmt])
    at = draw.draw(st.integers(0, len(data) - 1))
    data[at] = draw.draw(st.integers(0, 255).filter(lambda b: b != data[at]))
    _load_or_image_error(bytes(data), draw.draw(st.sampled_from(["rgb", "gray"])))


# ---------------------------------------------------------------------------------------------
# PNG encoding


def _decode_png(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4), (1, 1), (1, 1, 3)], ids=str)
def test_array_to_png_round_trips_uint8(shape):
    a = _RNG.integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(_decode_png(array_to_png(a)), a)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3)], ids=str)
def test_array_to_png_round_trips_floats(shape):
    a = _RNG.random(shape).astype(np.float32)
    back = _decode_png(array_to_png(a))
    np.testing.assert_array_equal(back, np.rint(a * 255).astype(np.uint8))
    assert np.abs(back / 255 - a).max() <= 0.5 / 255 + 1e-6


def test_array_to_png_single_channel_becomes_gray():
    a = _RNG.integers(0, 256, (4, 6, 1), dtype=np.uint8)
    back = _decode_png(array_to_png(a))
    assert back.shape == (4, 6)
    np.testing.assert_array_equal(back, a[:, :, 0])


def test_array_to_png_of_a_loaded_image_round_trips():
    loaded = load_image(_PNG)
    back = _decode_png(array_to_png(loaded.array))
    np.testing.assert_array_equal(back, np.asarray(_NOISE))


@pytest.mark.parametrize(
    "shape",
    [(7,), (5, 7, 2), (5, 7, 5), (2, 3, 4, 3), (0, 5), (5, 0, 3), (0, 0)],
    ids=str,
)
def test_array_to_png_bad_shapes_raise_value_error(shape):
    with pytest.raises(ValueError, match="array_to_png needs"):
        array_to_png(np.zeros(shape, np.float32))


def test_to_uint8_rounds_clips_and_zeroes_nan():
    a = np.array([-0.5, 0.0, 0.5, 1.0, 2.0, np.nan, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(to_uint8(a), [0, 0, 128, 255, 255, 0, 255, 0])
    np.testing.assert_array_equal(to_uint8(np.array([True, False])), [255, 0])
    u = np.array([3, 200], np.uint8)
    assert to_uint8(u) is u
