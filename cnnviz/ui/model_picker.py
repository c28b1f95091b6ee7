"""Open a model: upload its two files, or pick a run saved on this server. A page calls
pick_model() to get the model the user chose (an OpenedModel, kept in st.session_state) or None;
opened_report() tests it on a dataset's test split. Which saved runs a session sees:
cnnviz.ui.run_list.

Uploaded checkpoints are safetensors plus JSON (cnnviz.checkpoint): nothing is unpickled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from cnnviz.ui.run_list import runs_list

OPENED_KEY = "_opened"  # session_state: the OpenedModel on screen


@dataclass(eq=False)
class OpenedModel:
    """A model the user opened, its description (the checkpoint's JSON) and where it came from."""

    model: Any  # torch.nn.Module (torch stays unimported until a model is opened)
    meta: dict
    source: str  # in words: the two file names, or the run's label
    path: str | None = None  # the runs/ folder of a run saved on this server
    cache: dict = field(default_factory=dict)  # pictures and reports computed from it

    def fits(self, dataset) -> bool:
        """Whether the dataset has the images (size) and classes this model was trained on."""
        return (
            dataset is not None
            and list(dataset.input_shape) == list(self.meta.get("input_shape", []))
            and [str(c) for c in dataset.classes] == [str(c) for c in self.meta.get("classes", [])]
        )


def opened_model() -> OpenedModel | None:
    """The model this session opened, or None."""
    return st.session_state.get(OPENED_KEY)


def close_model() -> None:
    st.session_state.pop(OPENED_KEY, None)


def _open_model(model, meta: dict, source: str, path: str | None = None) -> None:
    st.session_state[OPENED_KEY] = OpenedModel(model, meta, source, path)


def pick_model(drawn: bool = True) -> OpenedModel | None:
    """Both files to upload and (when drawn) the runs saved on this server; the model the user
    opened, or None. Not drawn (a closed tab): only the uploaders, so they keep their files."""
    st.markdown("**Open a model**: upload both files, or pick a run saved on this server")
    upload_checkpoint()
    if drawn:
        runs_list(_open_model)
    return opened_model()


def model_downloads(weights: bytes, meta: bytes, stem: str, key: str) -> None:
    """The two files of a model, side by side: weights (safetensors) and description (JSON)."""
    a, b = st.columns(2)
    a.download_button(
        "Weights (.safetensors)",
        weights,
        f"{stem}.safetensors",
        "application/octet-stream",
        key=f"{key}_weights",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )
    b.download_button(
        "Description (.json)",
        meta,
        f"{stem}.json",
        "application/json",
        key=f"{key}_meta",
        on_click="ignore",
        icon=":material/description:",
        width="stretch",
    )


def upload_checkpoint() -> None:
    """The two uploaders; a new pair of files is opened (or refused with a sentence)."""
    from cnnviz import checkpoint

    a, b = st.columns(2)
    w = a.file_uploader(
        "Weights (.safetensors)", type=["safetensors"], key="up_weights", max_upload_size=25
    )
    m = b.file_uploader("Description (.json)", type=["json"], key="up_meta", max_upload_size=1)
    if w is None or m is None:
        if w is not None or m is not None:
            st.caption("Upload both files: the weights and their description.")
        return
    ident = (w.file_id, m.file_id)
    if st.session_state.get("_uploaded_ident") == ident:
        return
    try:
        model, meta = checkpoint.load(w.getvalue(), m.getvalue())
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return
    st.session_state["_uploaded_ident"] = ident
    _open_model(model, meta, f"{w.name} + {m.name}")


def run_downloads(opened: OpenedModel) -> None:
    """A run saved on the server (a teacher's pre-trained model): its two files to keep."""
    from cnnviz import runs

    try:
        weights, meta = runs.run_files(opened.path)
    except ValueError as err:
        st.caption(str(err))
        return
    model_downloads(weights, meta, runs.download_stem(opened.meta), "dl_run")


def opened_report(opened: OpenedModel, dataset):
    """The opened model's TestReport on the dataset's test split (computed once per dataset), or
    None with a sentence saying why it cannot be tested there."""
    from cnnviz.training.evaluate import evaluate_model

    key = ("report", id(dataset))
    if key not in opened.cache:
        try:
            opened.cache[key] = evaluate_model(opened.model, dataset)
        except (ValueError, RuntimeError) as err:
            st.caption(f"This model cannot be tested on these data: {err}")
            opened.cache[key] = None
    return opened.cache[key]
