"""The user's own pictures: good and hostile zips built in memory, and per-class uploads."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import DataError, from_images, from_zip
from cnnviz.data import user as user_mod


def png(colour=(255, 0, 0), size=(20, 12), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG")
    return buf.getvalue()


def jpeg(colour=(0, 0, 255), size=(30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def make_zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """entries: (name, bytes) or (ZipInfo, bytes) or (dirname/,) pairs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for entry in entries:
            if len(entry) == 1:
                zf.writestr(zipfile.ZipInfo(entry[0]), b"")
            else:
                zf.writestr(entry[0], entry[1])
    return buf.getvalue()


def good_entries(n=(5, 6), prefix=""):
    out = []
    for i in range(n[0]):
        out.append((f"{prefix}cats/c{i}.png", png((200, 30 + i, 30))))
    for i in range(n[1]):
        out.append((f"{prefix}dogs/d{i}.jpg", jpeg((20, 40, 200 - i))))
    return out


def test_good_zip():
    ds = from_zip(make_zip(good_entries()), size=16)
    assert ds.classes == ("cats", "dogs")
    assert ds.input_shape == (3, 16, 16)
    assert ds.counts() == {"train": [3, 4], "val": [1, 1], "test": [1, 1]}
    assert ds.notes == ()
    # a red picture stays red, a blue one blue (centre crop + resize keep colours)
    red = ds.x_train[ds.y_train == 0]
    assert np.allclose(red[:, 0].mean(), 200 / 255, atol=0.01) and red[:, 2].max() < 0.15
    blue = ds.x_train[ds.y_train == 1]
    assert blue[:, 2].mean() > 0.7
    again = from_zip(make_zip(good_entries()), size=16)
    np.testing.assert_array_equal(ds.x_test, again.x_test)


def test_zip_with_top_folder_junk_and_gray():
    entries = []
    for cls, v in (("zero", 0), ("one", 255)):
        entries += [(f"digits/{cls}/{i}.png", png(v, mode="L")) for i in range(4)]
    entries += [
        ("digits/", None),
        ("__MACOSX/digits/zero/._0.png", b"junk"),
        ("digits/zero/.DS_Store", b"junk"),
        ("digits/.hidden/1.png", png(3, mode="L")),
    ]
    ds = from_zip(make_zip([e if e[1] is not None else (e[0],) for e in entries]), size=8)
    assert ds.classes == ("one", "zero")
    assert ds.input_shape == (1, 8, 8)  # all pictures gray: one channel
    assert ds.notes == ()


def test_zip_skips_non_images_corrupt_and_nested_with_counts():
    entries = good_entries() + [
        ("cats/readme.txt", b"these are my cats\n"),
        ("cats/broken.png", png()[:30]),
        ("dogs/more.zip", make_zip(good_entries((1, 1)))),
        ("dogs/sneaky.png", make_zip(good_entries((1, 1)))),
        ("loose.png", png()),
    ]
    ds = from_zip(make_zip(entries))
    assert ds.counts()["train"] == [3, 4]
    text = " ".join(ds.notes)
    assert "2 file(s) skipped: not a picture cnnviz can read" in text
    assert "2 file(s) skipped: an archive inside the zip" in text
    assert "1 file(s) skipped: not inside a class folder (loose.png)" in text


def test_zip_empty_class_folder_is_left_out_with_a_note():
    entries = good_entries() + [("birds/",)]
    ds = from_zip(make_zip(entries))
    assert ds.classes == ("cats", "dogs")
    assert any("'birds' has no pictures" in n for n in ds.notes)


@pytest.mark.parametrize(
    "entries, message",
    [
        ([(f"cats/{i}.png", png()) for i in range(5)], "at least 2 classes"),
        ([("cats/a.txt", b"x"), ("dogs/b.txt", b"y")], "none has pictures"),
        (
            good_entries() + [("birds/1.png", png()), ("birds/2.png", png())],
            "'birds' has 2 picture",
        ),
        (good_entries() + [("../evil.png", png())], "unsafe path"),
        (good_entries() + [("cats/../../evil.png", png())], "unsafe path"),
        (good_entries() + [("/etc/evil.png", png())], "unsafe path"),
        (good_entries() + [("C:/evil.png", png())], "unsafe path"),
        (good_entries() + [("C:\\Windows\\evil.png", png())], "unsafe path"),
        ([], "at least 2 classes"),
    ],
)
def test_bad_zips_refused(entries, message):
    with pytest.raises(DataError, match=message) as err:
        from_zip(make_zip(entries))
    assert "\n" not in str(err.value)


def test_not_a_zip_and_bad_sizes():
    for blob in (b"", b"hello", png(), make_zip(good_entries())[:-30]):
        with pytest.raises(DataError, match="not a zip archive"):
            from_zip(blob)
    with pytest.raises(DataError, match="between 8 and 96"):
        from_zip(make_zip(good_entries()), size=4)
    with pytest.raises(DataError, match="whole number"):
        from_zip(make_zip(good_entries()), size=16.5)


def test_zip_bomb_by_ratio_is_skipped_unread():
    bomb = bytes(8 * 2**20)  # 8 MB of zeros deflate to ~8 KB: a ratio near 1000
    entries = good_entries() + [("cats/bomb.bmp", bomb)]
    ds = from_zip(make_zip(entries))
    assert any("like a zip bomb (cats/bomb.bmp)" in n for n in ds.notes)
    assert ds.counts()["train"] == [3, 4]


def test_zip_oversized_member_skipped():
    big = np.random.default_rng(0).integers(0, 256, 21 * 2**20, dtype=np.uint8).tobytes()
    ds = from_zip(make_zip(good_entries() + [("cats/huge.png", big)], zipfile.ZIP_STORED))
    assert any("larger than 20 MB" in n for n in ds.notes)


def forge_sizes(blob: bytes, size: int) -> bytes:
    """Rewrite every central-directory entry's uncompressed size (the zip lies about it)."""
    data = bytearray(blob)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        data[pos + 24 : pos + 28] = struct.pack("<I", size)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(data)


def test_zip_declared_total_too_large():
    with pytest.raises(DataError, match="would unpack to"):
        from_zip(forge_sizes(make_zip(good_entries()), 0xFFFF0000))


def test_zip_member_larger_than_declared_is_not_read_past_its_size():
    blob = forge_sizes(make_zip(good_entries(), zipfile.ZIP_DEFLATED), 50)
    with pytest.raises(DataError, match="none has pictures"):
        from_zip(blob)


def test_zip_too_many_entries(monkeypatch):
    monkeypatch.setattr(user_mod, "MAX_ENTRIES", 20)
    with pytest.raises(DataError, match="entries"):
        from_zip(make_zip(good_entries((11, 11))))


def test_zip_too_many_pictures(monkeypatch):
    monkeypatch.setattr(user_mod, "MAX_IMAGES", 8)
    with pytest.raises(DataError, match="at most 8 pictures"):
        from_zip(make_zip(good_entries()))


def test_zip_symlink_skipped():
    link = zipfile.ZipInfo("cats/link.png")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    ds = from_zip(make_zip(good_entries() + [(link, b"/etc/passwd")]))
    assert any("symbolic link (cats/link.png)" in n for n in ds.notes)


def test_zip_encrypted_refused():
    # zipfile cannot write encrypted members: set the "encrypted" flag in both headers
    data = bytearray(make_zip(good_entries()))
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(sig)
        data[pos + offset] |= 0x1
    with pytest.raises(DataError, match="password-protected"):
        from_zip(bytes(data))


# ---------------------------------------------------------------------------------------------
# Pictures per class


def test_from_images_good_and_skips_bad():
    per_class = {
        "thumbs up": [png((250, 200, 0)) for _ in range(4)] + [b"not a picture"],
        " thumbs   down ": [jpeg((0, 0, 90), size=(40, 20)) for _ in range(3)],
    }
    ds = from_images(per_class, size=24)
    assert ds.classes == ("thumbs up", "thumbs down")
    assert ds.input_shape == (3, 24, 24)
    assert ds.counts() == {"train": [2, 1], "val": [1, 1], "test": [1, 1]}
    assert any(
        "1 file(s) skipped: not a picture cnnviz can read (thumbs up #5)" in n for n in ds.notes
    )


@pytest.mark.parametrize(
    "per_class, message",
    [
        ({"a": [png()] * 3}, "at least 2 classes"),
        ({"a": [png()] * 3, "b": []}, "only 'a' has pictures"),
        ({"a": [png()] * 3, "A": [png()] * 3}, "both called"),
        ({"a": [png()] * 3, "  ": [png()] * 3}, "needs a name"),
        ({"a": [png()] * 3, "b" * 41: [png()] * 3}, "longer than 40"),
        ({"a": [png()] * 3, "b": [png()] * 2}, "'b' has 2 picture"),
        ({"a": [png()] * 3, "b": [b"x"] * 3}, "only 'a' has pictures"),
    ],
)
def test_from_images_refusals(per_class, message):
    with pytest.raises(DataError, match=message):
        from_images(per_class)


def test_zip_folder_names_become_tidy_class_names():
    long = "a very long folder name that goes on and on and on"
    entries = [(f"{long}/{i}.png", png()) for i in range(3)]
    entries += [(f"tab\there/{i}.png", png((0, 9, 0))) for i in range(3)]
    ds = from_zip(make_zip(entries))
    assert ds.classes == (long[:39] + "…", "tabhere")


def test_fuzzed_zips_are_read_or_refused_with_a_sentence():
    """Random byte changes in a good zip (damaged headers, bad deflate streams, odd versions):
    each one either loads or raises DataError, never another exception."""
    import random

    rng = random.Random(0)
    good = make_zip(good_entries((3, 3)))
    outcomes = set()
    for _ in range(300):
        b = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            from_zip(bytes(b))
            outcomes.add("read")
        except DataError as err:
            assert "\n" not in str(err)
            outcomes.add("refused")
    assert outcomes == {"read", "refused"}
