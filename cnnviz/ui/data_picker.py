"""Choosing the data to train on: a built-in set, a folder on the server, a zip, or pictures per
class (uploads or camera, Teachable-Machine style); then the split counts and a preview per class.

Built-in sets are shared by every user through one global cache keyed by their name (they are
the same for everyone). Everything a user brings lives in that user's st.session_state only.
"""

from __future__ import annotations

import math
import os

import numpy as np
import streamlit as st

from cnnviz.data import (
    BUILTINS,
    DataError,
    Dataset,
    builtin,
    from_images,
    from_zip,
    load_cifar10,
    load_mnist,
    preview_grid,
)
from cnnviz.data.files import DATA_ROOT_ENV
from cnnviz.memo import digest
from cnnviz.render.png import array_to_png

SOURCES = {"builtin": "Built-in", "folder": "Folder", "zip": "Zip", "own": "Pictures"}
SIZES = (16, 28, 32, 48, 64)
FOLDER_KINDS = {
    "mnist": "MNIST / Fashion-MNIST (IDX files)",
    "cifar10": "CIFAR-10 (python batches)",
}
MAX_CLASSES = 10
TEST_LIMIT = (
    2_000  # test images kept from a folder's dataset (memory: CIFAR-10's 10,000 are 123 MB)
)
PREVIEW = 8  # pictures per class in the preview
_STATE = (
    "cnnviz_data"  # session_state: {"builtin": (name, ds), "folder": ..., "zip": ..., "own": ...}
)


@st.cache_resource(max_entries=len(BUILTINS), show_spinner="Making the dataset…")
def _shared_builtin(name: str) -> Dataset:
    """A built-in set, made once per server and shared (it is the same for everyone)."""
    return builtin(name)


def _store() -> dict:
    return st.session_state.setdefault(_STATE, {})


def _error(err: Exception) -> None:
    st.error(str(err), icon=":material/block:")


# ---------------------------------------------------------------------------------------------
# Sources


def _pick_builtin() -> Dataset:
    name = st.selectbox(
        "Dataset",
        list(BUILTINS),
        key="data",
        bind="query-params",
        help="Made on this server: nothing is downloaded.",
    )
    held = _store().get("builtin")
    if held and held[0] == name:  # the same object on every rerun, even after a cache clear
        return held[1]
    ds = _shared_builtin(name)
    _store()["builtin"] = (name, ds)
    return ds


def _pick_folder() -> Dataset | None:
    kind = st.radio(
        "Format", list(FOLDER_KINDS), format_func=FOLDER_KINDS.get, key="data_fmt", horizontal=True
    )
    root = os.environ.get(DATA_ROOT_ENV)
    if root:
        st.caption(f"This server reads datasets from folders inside {root}.")
    path = st.text_input(
        "Folder on the server",
        key="data_folder",
        placeholder=root or "/data/mnist",
        help="The folder that holds train-images-idx3-ubyte(.gz) and the "
        "other three MNIST files, or CIFAR-10's data_batch_1…5 and "
        "test_batch. Files are read on the server, not uploaded.",
    )
    limit = st.number_input(
        "Training images to use (at most)",
        1000,
        60_000,
        5_000,
        1000,
        key="data_limit",
        help="All of MNIST as floats takes 188 MB, CIFAR-10 614 MB; "
        "a part trains faster and keeps the server responsive. "
        f"Validation gets a ninth as many, test {TEST_LIMIT:,}.",
    )
    want = (kind, path.strip(), int(limit))
    held = _store().get("folder")
    if st.button("Load", key="data_load", icon=":material/folder_open:", disabled=not path.strip()):
        try:
            with st.spinner("Reading the files…"):
                if kind == "mnist":
                    ds = load_mnist(path, max_train=int(limit), max_test=TEST_LIMIT)
                else:
                    ds = load_cifar10(path, max_train=int(limit), max_test=TEST_LIMIT)
        except DataError as err:
            _error(err)
            return None
        held = (want, ds)
        _store()["folder"] = held
    if held is None:
        st.caption("Type the folder's path and press **Load**.")
        return None
    if held[0] != want:
        st.caption("Showing the folder loaded before; press **Load** to read the new settings.")
    return held[1]


def zip_uploader(key: str):
    """The uploader of a zip of class folders (the Train page's data, Explore's new classes)."""
    return st.file_uploader(
        "Zip of class folders",
        type=["zip"],
        key=key,
        max_upload_size=100,
        help="One folder per class, pictures inside: cats/1.jpg, dogs/2.png… "
        "The zip is read in memory, never unpacked on the server.",
    )


def _pick_zip(size: int) -> Dataset | None:
    up = zip_uploader("data_zip")
    held = _store().get("zip")
    if up is None:
        if held:
            st.caption(f"Using {held[2]}, uploaded before.")
            st.button(
                "Forget it",
                key="data_zip_forget",
                on_click=_store().pop,
                args=("zip", None),
                icon=":material/delete:",
            )
            return held[1] if held[0][1] == size else _zip_again(held, size)
        st.caption(
            "Put each class's pictures in its own folder, zip the folders, upload the zip. "
            "Pictures are shrunk to a few dozen pixels anyway: photos resized to about "
            "256 px before zipping fit many more under the upload limit."
        )
        return None
    data = up.getvalue()
    key = (digest(data), size)
    if held and held[0] == key:
        return held[1]
    try:
        with st.spinner("Reading the pictures…"):
            ds = from_zip(data, size=size, name=up.name[:60] or "my.zip")
    except DataError as err:
        _error(err)
        return None
    _store()["zip"] = (key, ds, up.name, data)
    return ds


def _zip_again(held, size: int) -> Dataset | None:
    """The zip uploaded before, read again at a new picture size."""
    try:
        ds = from_zip(held[3], size=size, name=held[2][:60])
    except DataError as err:
        _error(err)
        return None
    _store()["zip"] = ((held[0][0], size), ds, held[2], held[3])
    return ds


def _add_shot(i: int) -> None:
    shot = st.session_state.get(f"data_cam{i}")
    if shot is not None:
        _store().setdefault("shots", {}).setdefault(i, []).append(shot.getvalue())


def _clear_shots(i: int) -> None:
    _store().setdefault("shots", {}).pop(i, None)


def pick_own(size: int) -> Dataset | None:
    """Named classes, each with uploaded pictures and camera shots (kept in the session, so the
    Train page and Explore share them); the Dataset at `size`, or None."""
    st.caption(
        "Give each class a name and some pictures (uploads or camera shots); "
        "20 or more per class work best."
    )
    n = st.number_input("Classes", 2, MAX_CLASSES, 2, key="data_ncls")
    shots = _store().setdefault("shots", {})
    per_class: dict[str, list[bytes]] = {}
    names = []
    columns = st.columns(2)
    for i in range(int(n)):
        with columns[i % 2], st.container(border=True):
            name = st.text_input(
                f"Class {i + 1}", f"class {i + 1}", key=f"data_cls{i}", max_chars=40
            )
            files = st.file_uploader(
                f"Pictures of {name or f'class {i + 1}'}",
                type=None,
                accept_multiple_files=True,
                key=f"data_up{i}",
                max_upload_size=20,
            )
            if st.toggle("Camera", key=f"data_camon{i}"):
                st.caption(
                    "The camera works when the app is opened as http://localhost or over "
                    "HTTPS (a browser rule); on a plain http:// address it stays dark."
                )
                st.camera_input("Take a picture", key=f"data_cam{i}")
                a, b = st.columns(2)
                a.button(
                    "Add this shot",
                    key=f"data_add{i}",
                    on_click=_add_shot,
                    args=(i,),
                    icon=":material/add_a_photo:",
                )
                b.button(
                    "Forget shots",
                    key=f"data_clr{i}",
                    on_click=_clear_shots,
                    args=(i,),
                    icon=":material/delete:",
                )
            blobs = [f.getvalue() for f in files or []] + list(shots.get(i, []))
            st.caption(
                f"{len(blobs)} picture(s)"
                + (f", {len(shots[i])} from the camera" if shots.get(i) else "")
            )
        names.append(name)
        if name in per_class:  # the same name twice: from_images would never see the second
            per_class[name] += blobs
            twice = name
        else:
            per_class[name] = blobs
    if not any(per_class.values()):
        return None
    if len(per_class) < len(names):
        _error(DataError(f"Two classes are both called {twice!r}; give each class its own name."))
        return None
    blobs = [b for v in per_class.values() for b in v]
    key = (tuple(names), tuple(len(v) for v in per_class.values()), digest(*blobs), size)
    held = _store().get("own")
    if held and held[0] == key:
        return held[1]
    try:
        ds = from_images(per_class, size=size)
    except DataError as err:
        _error(err)
        return None
    _store()["own"] = (key, ds)
    return ds


# ---------------------------------------------------------------------------------------------
# Showing the chosen data


def _enlarged(a: np.ndarray, min_tile: int, tile: int) -> np.ndarray:
    """Repeat pixels so a tile of `tile` px shows at least `min_tile` px (stays sharp)."""
    k = max(1, math.ceil(min_tile / tile))
    return a if k == 1 else np.repeat(np.repeat(a, k, axis=0), k, axis=1)


def previews(ds: Dataset) -> list[bytes]:
    """One PNG per class: its first training pictures side by side."""
    side = ds.input_shape[1]
    out = []
    for k in range(ds.n_classes):
        grid = preview_grid(ds, k, n=PREVIEW)
        if grid.size == 0:
            grid = np.full((side, side), 0.5, np.float32)
        out.append(array_to_png(_enlarged(grid, 32, side)))
    return out


def _cached_previews(ds: Dataset) -> list[bytes]:
    memo = st.session_state.setdefault("cnnviz_data_previews", {})
    key = id(ds)
    if key not in memo or memo[key][0] is not ds:
        memo.clear()
        memo[key] = (ds, previews(ds))
    return memo[key][1]


def show_dataset(ds: Dataset) -> None:
    """The description, notes, counts per class and split, and the preview grid."""
    c, h, w = ds.input_shape
    st.caption(f"{ds.description}. Each picture: {c}×{h}×{w} (channels × height × width).")
    for note in ds.notes:
        st.caption(note)
    counts = ds.counts()
    totals = {s: sum(v) for s, v in counts.items()}
    rows = [
        f"| {name} | {counts['train'][k]:,} | {counts['val'][k]:,} | {counts['test'][k]:,} |"
        for k, name in enumerate(ds.classes)
    ]
    st.markdown(
        "| class | training | validation | test |\n|---|--:|--:|--:|\n"
        + "\n".join(rows)
        + f"\n| **all** | **{totals['train']:,}** | **{totals['val']:,}** | **{totals['test']:,}** |"
    )
    st.caption(
        "The net learns from the training pictures; validation pictures show during training "
        "how well it does on pictures it never learned from; test pictures are kept for the end."
    )
    with st.expander(
        f"Preview: the first {PREVIEW} training pictures of each class",
        expanded=True,
        icon=":material/grid_view:",
    ):
        st.image(_cached_previews(ds), caption=[str(c) for c in ds.classes])


def pick_dataset() -> Dataset | None:
    """The data widgets; returns the chosen Dataset, or None (with a sentence) until there is one."""
    src = st.segmented_control(
        "Data",
        list(SOURCES),
        format_func=SOURCES.get,
        default="builtin",
        required=True,
        key="data_src",
        bind="query-params",
    )
    src = src or "builtin"
    ds: Dataset | None
    if src == "builtin":
        ds = _pick_builtin()
    elif src == "folder":
        ds = _pick_folder()
    else:
        size = st.select_slider(
            "Picture size (px a side)",
            SIZES,
            value=32,
            key="data_size",
            bind="query-params",
            help="Your pictures are cropped to squares and shrunk to this. "
            "Small is fast; 32 keeps shapes and colours.",
        )
        ds = _pick_zip(size) if src == "zip" else pick_own(size)
    if ds is not None:
        show_dataset(ds)
    return ds
