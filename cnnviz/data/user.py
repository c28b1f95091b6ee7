"""The user's own pictures as a Dataset: a zip of class folders, or pictures per class.

The zip is read in memory and never extracted. Before any byte is inflated the central
directory is checked: number of entries, declared sizes, compression ratios, paths (no `..`,
absolute or drive-letter names), symlinks, encryption. Every member is read with a bounded
read and every picture goes through cnnviz.images.load_image, the guarded decoder; then it is
cropped to a centred square and resized to size x size.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from cnnviz.data.core import DataError, Dataset, make_dataset, user_split
from cnnviz.images import ImageError, load_image
from cnnviz.render.png import to_uint8

MAX_ZIP_BYTES = 200 * 2**20  # the zip file itself
MAX_ENTRIES = 10_000  # entries in the central directory (files, folders, junk)
MAX_IMAGES = 3_000  # pictures used
MAX_ENTRY_BYTES = 20 * 2**20  # one member, uncompressed
MAX_TOTAL_BYTES = 1024 * 2**20  # all members together, uncompressed, as declared
MAX_RATIO = 100  # uncompressed / compressed, for members over RATIO_FLOOR bytes
RATIO_FLOOR = 64 * 2**10
MAX_CLASSES = 50
MIN_PER_CLASS = 3  # one each for training, validation and test
SIZES = (8, 96)  # allowed output sides
_ARCHIVE_ENDINGS = (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz", ".jar")


@dataclass
class _Tally:
    """What was skipped and why, for the notes shown under the dataset."""

    skipped: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    def notes(self) -> list[str]:
        out = []
        for reason, names in self.skipped.items():
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            out.append(f"{len(names)} file(s) skipped: {reason} ({shown}).")
        return out


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise DataError(f"The picture size must be a whole number of pixels, not {size!r}.")
    if not SIZES[0] <= size <= SIZES[1]:
        raise DataError(
            f"The picture size must be between {SIZES[0]} and {SIZES[1]} pixels; it is {size}."
        )
    return int(size)


def _class_name(raw: str) -> str:
    name = " ".join(str(raw).split())
    if not name:
        raise DataError("A class needs a name; type one for every class.")
    if len(name) > 40:
        raise DataError(
            f"The class name “{name[:20]}...” is longer than 40 characters; shorten it."
        )
    if re.search(r"[\x00-\x1f\x7f]", name):
        raise DataError("A class name contains control characters; use letters, digits and spaces.")
    return name


def _folder_label(folder: str) -> str:
    """A zip folder name as a class name: control characters dropped, spaces collapsed, at
    most 40 characters."""
    name = " ".join(re.sub(r"[\x00-\x1f\x7f]", "", folder).split())
    return (name[:39] + "…") if len(name) > 40 else (name or "?")


def _square(pic: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop an (H, W, 3) picture in [0, 1] to a square and resize it to size x size."""
    h, w = pic.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(to_uint8(pic[top : top + side, left : left + side]))
    if side != size:
        crop = crop.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(crop, dtype=np.float32) / np.float32(255)


def _decode_all(
    items: Iterable[tuple[str, str, bytes]], size: int, tally: _Tally
) -> dict[str, list[np.ndarray]]:
    """{class: [(size, size, 3) float32 pictures]} from (class, name, bytes); unreadable
    files are skipped and counted."""
    pictures: dict[str, list[np.ndarray]] = {}
    for label, name, data in items:
        try:
            loaded = load_image(data, mode="rgb", max_side=max(64, 4 * size))
        except ImageError:
            tally.add("not a picture cnnviz can read", name)
            continue
        if min(loaded.array.shape[:2]) < 1:
            tally.add("empty picture", name)
            continue
        pictures.setdefault(label, []).append(_square(loaded.array, size))
    return pictures


def _build(
    name: str,
    description: str,
    pictures: dict[str, list[np.ndarray]],
    order: list[str],
    notes: list[str],
    source: str,
) -> Dataset:
    """Check classes, pick gray or colour, split per class with a fixed seed."""
    empty = [c for c in order if not pictures.get(c)]
    classes = [c for c in order if pictures.get(c)]
    if len(classes) < 2:
        found = f"only {classes[0]!r} has pictures" if classes else "none has pictures"
        raise DataError(f"Training needs at least 2 classes with pictures, and {found}; {source}.")
    for c in empty:
        notes.insert(0, f"Class {c!r} has no pictures and was left out.")
    few = [c for c in classes if len(pictures[c]) < MIN_PER_CLASS]
    if few:
        c = few[0]
        raise DataError(
            f"Class {c!r} has {len(pictures[c])} picture(s); every class needs at least "
            f"{MIN_PER_CLASS} (one each for training, validation and test), better 20 or more."
        )
    x = np.stack([p for c in classes for p in pictures[c]])  # (N, H, W, 3)
    y = np.concatenate([np.full(len(pictures[c]), i, np.int64) for i, c in enumerate(classes)])
    gray = bool(np.array_equal(x[..., 0], x[..., 1]) and np.array_equal(x[..., 1], x[..., 2]))
    x = x[..., :1] if gray else x
    x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    h = x.shape[-1]
    colour = "gray" if gray else "colour"
    desc = f"{description}: {len(y):,} {colour} {h}×{h} pictures, {len(classes)} classes"
    return make_dataset(
        name,
        tuple(classes),
        x,
        y,
        user_split(y, seed=0),
        description=desc,
        augment="shift",
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# Zip of class folders


def _unsafe_path(name: str) -> bool:
    parts = name.split("/")
    return (
        name.startswith("/")
        or re.match(r"^[A-Za-z]:", name) is not None
        or any(p == ".." for p in parts)
        or "\x00" in name
    )


def _is_junk(parts: list[str]) -> bool:
    return any(
        p.startswith(".") or p == "__MACOSX" or p in ("Thumbs.db", "desktop.ini") for p in parts
    )


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and (info.external_attr >> 16) & 0o170000 == 0o120000


def _members(zf: zipfile.ZipFile, tally: _Tally) -> list[tuple[zipfile.ZipInfo, list[str]]]:
    """The members worth reading, with their path parts; checks the whole directory first."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise DataError(
            f"The zip has {len(infos):,} entries, more than the {MAX_ENTRIES:,} cnnviz reads."
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise DataError(
            f"The zip would unpack to {total / 2**20:,.0f} MB, more than the "
            f"{MAX_TOTAL_BYTES / 2**20:,.0f} MB cnnviz accepts; make a smaller zip."
        )
    keep = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        if _unsafe_path(name):
            raise DataError(
                f"The zip contains an unsafe path ({name[:60]}) that points outside its folder; "
                "cnnviz will not read it; zip the class folders again."
            )
        if info.is_dir():
            continue
        parts = [p for p in name.split("/") if p]
        if _is_junk(parts):
            continue
        if info.flag_bits & 0x1:
            raise DataError(
                "The zip is password-protected and cnnviz cannot read encrypted zips; zip the folders without a password."
            )
        if _is_symlink(info):
            tally.add("symbolic link", name)
        elif name.lower().endswith(_ARCHIVE_ENDINGS):
            tally.add("an archive inside the zip (unzip it first)", name)
        elif info.file_size > MAX_ENTRY_BYTES:
            tally.add(f"larger than {MAX_ENTRY_BYTES // 2**20} MB", name)
        elif info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
            1, info.compress_size
        ):
            tally.add(f"compressed more than {MAX_RATIO}:1, like a zip bomb", name)
        else:
            keep.append((info, parts))
    return keep


def _layout(zf: zipfile.ZipFile, members, tally: _Tally) -> tuple[list, list[str]]:
    """(class, member) pairs and every class folder name (empty folders too). The first folder
    is the class; one common top folder (what zipping the folder that holds the class folders
    gives) is looked through."""
    dirs = [
        parts
        for i in zf.infolist()
        if i.is_dir()
        and not _is_junk(parts := [p for p in i.filename.replace("\\", "/").split("/") if p])
    ]
    paths = [parts for _, parts in members] + dirs
    tops = {p[0] for p in paths}
    if len(tops) == 1 and all(len(p) >= 3 for _, p in members) and members:
        members = [(info, parts[1:]) for info, parts in members]
        dirs = [d[1:] for d in dirs if len(d) > 1]
    pairs = []
    for info, parts in members:
        if len(parts) < 2:
            tally.add("not inside a class folder", "/".join(parts))
        else:
            pairs.append((_folder_label(parts[0]), info))
    names = {c for c, _ in pairs} | {_folder_label(d[0]) for d in dirs if d}
    return pairs, sorted(names, key=str.casefold)


def from_zip(data: bytes, size: int = 32, name: str = "my.zip") -> Dataset:
    """A Dataset from a zip of class folders (cats/1.jpg, dogs/2.png, ...), guarded.

    Pictures are centre-cropped to squares and resized to `size`; all-gray pictures give one
    channel. Each class is split 70/15/15 with a fixed seed. Skipped files are counted in
    `notes`; anything that makes the zip unusable or unsafe raises DataError.
    """
    size = _check_size(size)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"from_zip needs bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_ZIP_BYTES:
        raise DataError(
            f"The zip is {len(data) / 2**20:,.0f} MB; cnnviz takes at most {MAX_ZIP_BYTES // 2**20} MB."
        )
    tally = _Tally()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            pairs, classes = _layout(zf, _members(zf, tally), tally)
            if len(classes) > MAX_CLASSES:
                raise DataError(
                    f"The zip has {len(classes)} class folders; cnnviz trains on at most {MAX_CLASSES}."
                )
            if len(pairs) > MAX_IMAGES:
                raise DataError(
                    f"The zip has {len(pairs):,} files in class folders; cnnviz takes at most "
                    f"{MAX_IMAGES:,} pictures; make a smaller zip."
                )
            pairs.sort(key=lambda p: (p[0].casefold(), p[1].filename))
            pictures = _decode_all(_read_members(zf, pairs, tally), size, tally)
    except DataError:
        raise
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, struct.error, ...
        raise DataError(
            "This file is not a zip archive cnnviz can read (it is damaged or another format); "
            "make a .zip of your class folders."
        ) from exc
    return _build(
        name,
        f"{name}",
        pictures,
        classes,
        tally.notes(),
        "put each class's pictures in its own folder (cats/1.jpg, dogs/2.jpg) and zip those folders",
    )


def _read_members(zf: zipfile.ZipFile, pairs, tally: _Tally):
    """(class, name, bytes) for each member, each read with a bound; damaged members skipped."""
    for label, info in pairs:
        try:
            with zf.open(info) as f:
                blob = f.read(info.file_size + 1)
        except Exception:  # zlib.error, BadZipFile (bad CRC), NotImplementedError (method), ...
            tally.add("damaged inside the zip", info.filename)
            continue
        if len(blob) != info.file_size:
            tally.add("its size differs from what the zip says", info.filename)
            continue
        if blob[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            tally.add("an archive inside the zip (unzip it first)", info.filename)
            continue
        yield label, info.filename, blob


# ---------------------------------------------------------------------------------------------
# Pictures per class (Teachable-Machine style uploads and camera shots)


def from_images(
    per_class: dict[str, list[bytes]], size: int = 32, name: str = "my images"
) -> Dataset:
    """A Dataset from {class name: [picture bytes]}; pictures decoded by the guarded loader,
    centre-cropped and resized to `size`. Unreadable pictures are skipped and counted in
    `notes`; fewer than 2 classes or fewer than 3 pictures in a class raise DataError."""
    size = _check_size(size)
    if not isinstance(per_class, dict):
        raise TypeError(
            f"from_images needs a dict of class name -> list of bytes, not {type(per_class).__name__}"
        )
    if len(per_class) > MAX_CLASSES:
        raise DataError(
            f"There are {len(per_class)} classes; cnnviz trains on at most {MAX_CLASSES}."
        )
    order: list[str] = []
    seen: dict[str, str] = {}
    items = []
    for raw, blobs in per_class.items():
        label = _class_name(raw)
        if label.casefold() in seen:
            raise DataError(f"Two classes are both called {label!r}; give each class its own name.")
        seen[label.casefold()] = label
        order.append(label)
        for i, blob in enumerate(blobs):
            items.append((label, f"{label} #{i + 1}", blob))
    if len(items) > MAX_IMAGES:
        raise DataError(f"There are {len(items):,} pictures; cnnviz takes at most {MAX_IMAGES:,}.")
    tally = _Tally()
    pictures = _decode_all(items, size, tally)
    return _build(
        name, name, pictures, order, tally.notes(), "add pictures to at least two classes"
    )
