"""Reuse a trained net on new classes (the Explore page): the base (the built-in digits 0-4 net
or the opened model), the new classes (built-in digits 5-9 or the user's zip), a few pictures
per class; one button trains the frozen-conv copy and the same net from scratch
(cnnviz.transfer.transfer_vs_scratch), then both validation curves and one sentence with the
real numbers. Results are kept in session_state, keyed by the content they came from."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from cnnviz.memo import digest
from cnnviz.ui.common import one_of, remember

BUILTIN_BASE = "The built-in digits 0-4 net"
BUILTIN_NEW = "Built-in digits 5-9"
ZIP_NEW = "Your zip of pictures"
OWN_NEW = "Your pictures (uploads or camera)"
NEW_DIGITS = tuple("56789")
_RESULTS = "_xfer_results"  # session_state: content key -> (TransferResult, per_class)
KEEP = 8  # results kept per session


def model_digest(model) -> str:
    """SHA-256 of a model's weights (names, shapes and bytes): the same net gives the same key."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}{tuple(a.shape)}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@st.cache_resource(show_spinner="Training the built-in digits 0-4 net (once per server)…")
def _builtin_base():
    from cnnviz.pretrained import pretrained

    return pretrained("digits0-4")


def _opened_fits(opened) -> str | None:
    """Why the opened model cannot be a base, or None when it can."""
    shape = list((opened.meta or {}).get("input_shape", []))
    if len(shape) != 3 or shape[1] != shape[2]:
        return "its pictures are not square, so they cannot be made from a zip"
    if not any(type(m).__name__ == "Linear" for m in opened.model.modules()):
        return "it has no final linear layer to replace"
    return None


def _pick_base(opened):
    """(model, input_shape, label) of the chosen base, or None (with a sentence)."""
    choices = [BUILTIN_BASE]
    why = None
    if opened is not None:
        why = _opened_fits(opened)
        if why is None:
            choices.append(f"The model you opened ({opened.source})")
    pick = st.radio("Base net", choices, key="xfer_base", horizontal=True)
    pick = one_of(pick, choices, BUILTIN_BASE)  # the model opened before is gone
    if why is not None:
        st.caption(f"The model you opened cannot be the base here: {why}.")
    if pick == BUILTIN_BASE:
        try:
            model, meta = _builtin_base()
        except (ValueError, RuntimeError) as err:
            st.error(f"The built-in net could not be made: {err}", icon=":material/block:")
            return None
        return model, tuple(meta["input_shape"]), "the digits 0-4 net"
    return opened.model, tuple(opened.meta["input_shape"]), "the opened model"


def _new_classes(shape):
    """(Dataset of the new classes at the base's input shape, content key) or None."""
    from cnnviz import transfer
    from cnnviz.data import DataError, from_zip
    from cnnviz.ui.data_picker import pick_own, zip_uploader

    pick = st.radio("New classes", [BUILTIN_NEW, ZIP_NEW, OWN_NEW], key="xfer_new", horizontal=True)
    if pick == BUILTIN_NEW:
        if tuple(shape) != (1, 28, 28):
            st.caption(
                f"The built-in digits are 1×28×28 pictures; this base takes "
                f"{'×'.join(map(str, shape))}. Upload a zip of your own pictures instead."
            )
            return None
        from cnnviz.pretrained import digits28

        return digits28().only_classes(NEW_DIGITS), "digits 5-9"

    if pick == OWN_NEW:
        own = pick_own(shape[1])
        if own is None:
            return None
        ds, key = own, "own " + digest(own.x_train, own.y_train, own.x_val, own.y_val, own.classes)
    else:
        up = zip_uploader("xfer_zip")
        if up is None:
            st.caption("Put each class's pictures in its own folder, zip the folders, upload it.")
            return None
        data = up.getvalue()
        try:
            with st.spinner("Reading the pictures…"):
                ds = from_zip(data, size=shape[1], name=up.name[:60] or "my.zip")
        except DataError as err:
            st.error(str(err), icon=":material/block:")
            return None
        key = "zip " + digest(data)
    try:
        ds = transfer.as_channels(ds, shape[0])
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return None
    if len(ds.y_val) == 0:
        st.error(
            "There are too few pictures to keep some aside for checking; add pictures.",
            icon=":material/block:",
        )
        return None
    return ds, key


def _train(base, ds, per_class: int, epochs: int):
    from cnnviz import transfer

    bar = st.progress(0.0, text="Training…")
    ways = {"transfer": 0, "scratch": 1}
    words = {"transfer": "frozen conv layers + new head", "scratch": "from scratch"}

    def tick(way: str, epoch: int, n: int) -> None:
        done = (ways[way] * n + epoch) / (2 * n)
        bar.progress(done, text=f"{words[way]}: epoch {epoch} of {n}")

    try:
        result = transfer.transfer_vs_scratch(
            base,
            transfer.few_per_class(ds, per_class, seed=0),
            (ds.x_val, ds.y_val),
            epochs=epochs,
            seed=0,
            n_classes=ds.n_classes,
            on_epoch=tick,
        )
    except ValueError as err:
        bar.empty()
        st.error(str(err), icon=":material/block:")
        return None
    bar.empty()
    return result


def transfer_section(opened) -> None:
    """Freeze a trained net's conv layers, retrain only a new head on a few pictures of new
    classes, and compare with the same net from scratch on the same pictures."""
    from cnnviz.figures.transfer import transfer_spec
    from cnnviz.transfer import transfer_sentence

    st.caption(
        "A net's conv layers learn to see edges and strokes; those help with new classes too. "
        "Freeze them, put a new last layer for the new classes and train only that, on a few "
        "pictures; then train the same net from scratch on the same pictures and compare."
    )
    base = _pick_base(opened)
    if base is None:
        return
    model, shape, base_words = base
    new = _new_classes(shape)
    if new is None:
        return
    ds, data_key = new
    a, b = st.columns(2)
    per_class = a.slider("Pictures per class", 1, 50, 20, key="xfer_per_class")
    epochs = b.slider("Epochs", 1, 30, 10, key="xfer_epochs")
    key = (model_digest(model), data_key, per_class, epochs)
    results = st.session_state.setdefault(_RESULTS, {})
    go = st.button("Train both", key="xfer_go", type="primary", icon=":material/play_arrow:")
    if go and key not in results:
        result = _train(model, ds, per_class, epochs)
        if result is None:
            return
        remember(results, key, result, KEEP)
    result = results.get(key)
    if result is None:
        st.caption(
            f"Trains {base_words} with its conv layers frozen and the same net from scratch, "
            f"{per_class} picture(s) per class of {ds.n_classes} classes, {epochs} epoch(s) each."
        )
        return
    st.vega_lite_chart(transfer_spec(result), width="stretch", key="xfer_chart")
    st.markdown(transfer_sentence(result, per_class))
    if result.n_train < per_class * result.n_classes:
        counts = np.bincount(ds.y_train, minlength=ds.n_classes)
        st.caption(
            f"Some classes have fewer than {per_class} training pictures "
            f"(the fewest: {int(counts.min())}); all of theirs were used."
        )
