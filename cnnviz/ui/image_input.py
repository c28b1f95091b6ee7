"""The image a page works on: a bundled sample, the user's upload, or the camera.

An upload is decoded once by the guarded loader and kept in the session, so it survives switching
pages and changing settings; a bad file gets one sentence, never a traceback. Its bytes are also
put on a small server-wide shelf under their SHA-256 (`?img=` in the URL): a reload, which starts
a new Streamlit session, or a link pasted elsewhere finds the picture again while the server runs.
Only someone holding the link can ask for it (the key is the picture's own hash).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import streamlit as st

from cnnviz.images import SAMPLES, ImageError, LoadedImage, load_image, sample_image
from cnnviz.ui.params import sync_url

SOURCES = {"sample": "Sample", "upload": "Upload", "camera": "Camera"}
SIZES = (64, 128, 256, 512)
_STORE = "cnnviz_user_image"
_REFUSED = "cnnviz_image_refused"  # session_state: this run's sentence about a refused file  # session_state: {"name", "bytes"} of the last good upload
SHELF_BYTES = 256 * 2**20  # every user's pictures kept for reloads and links, at most
_shelf: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # token -> (name, bytes), LRU
_shelf_lock = threading.Lock()


def digest(data: bytes) -> str:
    """The picture's name on the shelf and in the URL."""
    return hashlib.sha256(data).hexdigest()[:32]


def shelve(name: str, data: bytes, token: str | None = None) -> str:
    """Keep a good upload for reloads and links; the least recently used go first."""
    token = token or digest(data)
    with _shelf_lock:
        _shelf[token] = (name, data)
        _shelf.move_to_end(token)
        while sum(len(d) for _, d in _shelf.values()) > SHELF_BYTES and len(_shelf) > 1:
            _shelf.popitem(last=False)
    return token


def unshelve(token: str) -> tuple[str, bytes] | None:
    with _shelf_lock:
        found = _shelf.get(token)
        if found:
            _shelf.move_to_end(token)
        return found


def _decode(data: bytes, size: int, token: str) -> LoadedImage:
    """Decode in the session, memoised per (digest, size): reruns don't decode again."""
    key = (token, size)
    memo = st.session_state.setdefault("cnnviz_decoded", {})
    if key not in memo:
        memo.clear()  # keep one decoded image per session
        memo[key] = load_image(data, mode="rgb", max_side=size)
    return memo[key]


def _remember(file, size: int, name: str | None = None) -> LoadedImage | None:
    """An uploaded file (or camera shot): decoded and kept; hashed once per upload, not per
    rerun (the uploader hands the same file to every rerun)."""
    held = st.session_state.get(_STORE)
    if held and held.get("id") == file.file_id:
        return _decode(held["bytes"], size, held["token"])
    name = name or file.name
    data = file.getvalue()
    token = digest(data)
    try:
        image = _decode(data, size, token)
    except ImageError as err:
        st.error(f"**{name}**: {err}", icon=":material/broken_image:")
        st.session_state[_REFUSED] = f"**{name}** could not be used: {err}"
        return None
    shelve(name, data, token)
    st.session_state[_STORE] = {"name": name, "bytes": data, "token": token, "id": file.file_id}
    return image


def _from_link() -> dict | None:
    """The picture named by the link (`?img=`), back in this session if the server has it."""
    token = st.query_params.get("img")
    if not token:
        return None
    found = unshelve(token)
    if found is None:
        st.caption(
            "The picture in this link is no longer on the server (it restarted, or made "
            "room for newer ones): upload it again."
        )
        sync_url("img", None)
        return None
    st.session_state[_STORE] = {"name": found[0], "bytes": found[1], "token": token}
    return st.session_state[_STORE]


def pick_image(
    default_sample: str = "astronaut", default_size: int = 256
) -> tuple[LoadedImage, str]:
    """Widgets to choose the image (bound to the URL); returns the image and its name."""
    st.session_state[_REFUSED] = None
    src = st.segmented_control(
        "Image",
        list(SOURCES),
        format_func=SOURCES.get,
        default="sample",
        required=True,
        key="src",
        bind="query-params",
    )
    size = st.select_slider(
        "Working size (longest side, px)",
        SIZES,
        value=default_size,
        key="size",
        bind="query-params",
        help="Bigger images are shrunk to this size first.",
    )
    stored = st.session_state.get(_STORE) or (_from_link() if src != "sample" else None)
    chosen: LoadedImage | None = None
    name = ""
    if src == "upload":
        up = st.file_uploader(
            "Your image",
            type=None,
            key="upload",
            max_upload_size=20,
            help="PNG, JPEG, GIF, WebP, BMP or TIFF; up to 20 MB.",
        )
        if up is not None:
            chosen, name = _remember(up, size), up.name
        elif stored:
            chosen, name = _decode(stored["bytes"], size, stored["token"]), stored["name"]
    elif src == "camera":
        st.caption(
            "The camera works when this page is opened as http://localhost or over HTTPS "
            "(a browser rule); on a plain http:// address it stays dark."
        )
        shot = st.camera_input("Take a picture", key="camera")
        if shot is not None:
            chosen, name = _remember(shot, size, "camera picture"), "camera picture"
        elif stored:
            chosen, name = _decode(stored["bytes"], size, stored["token"]), stored["name"]
    held = st.session_state.get(_STORE)
    if chosen is not None and held:
        sync_url("img", held["token"])
    elif src == "sample":
        sync_url("img", None)
    if chosen is None:
        if src != "sample":
            st.caption("Showing a sample until you give a picture of your own.")
        sample = st.selectbox(
            "Sample",
            list(SAMPLES),
            index=list(SAMPLES).index(default_sample),
            key="sample",
            bind="query-params",
            help="Photos ship with scikit-image; the rest are drawn here.",
        )
        chosen, name = sample_image(sample, "rgb", size), sample
        st.caption(SAMPLES[sample])
    w, h = chosen.size
    st.caption(" ".join([f"Working on {w} × {h} px."] + list(chosen.notes)))
    return chosen, name


def show_refusal() -> None:
    """In the main area, beside the picture: why the file just given was refused (the sidebar
    says it too, but below the fold on a projector or a phone)."""
    if message := st.session_state.get(_REFUSED):
        st.error(f"{message} The page shows a sample instead.", icon=":material/broken_image:")
