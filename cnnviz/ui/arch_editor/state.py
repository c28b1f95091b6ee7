"""The architecture editor's state: the layers (with a stable id each, for widget keys), the
text box, the preset box and the note, kept in step in one place (`store`); loading from the
URL's text, and the callbacks that change the whole net (preset picked, text typed, fix applied).
"""

from __future__ import annotations

import streamlit as st

from cnnviz import arch
from cnnviz.arch import ArchError, Layer

ROWS = "arch_rows"  # list[tuple[int, Layer]]: a stable id per layer (widget keys) and the layer
SYNCED = "arch_synced"  # the text last written to / read from the URL
NOTE = "arch_note"  # a sentence about a change the app made (flat inserted, preset padded...)
TEXT_ERROR = "arch_text_error"
CONTEXT = "arch_context"  # (input_shape, n_classes) of the last run, for callbacks
UID = "arch_uid"
CUSTOM = "custom"

# ---------------------------------------------------------------- state


def current_layers() -> list[Layer]:
    return [layer for _, layer in st.session_state[ROWS]]


def new_uid() -> int:
    st.session_state[UID] = st.session_state.get(UID, 0) + 1
    return st.session_state[UID]


def matching_preset(text: str) -> str:
    shape, n = st.session_state[CONTEXT]
    for name, spec in arch.PRESETS.items():
        if text == spec:
            return name
        try:
            if text == arch.preset_for(name, shape, n)[0]:
                return name
        except ArchError:
            continue
    return CUSTOM


def store(rows: list[tuple[int, Layer]], note: str | None = None) -> None:
    """The one place layers change: rows, the text box, the preset box, the note."""
    state = st.session_state
    state[ROWS] = rows
    text = arch.to_text([layer for _, layer in rows]) if rows else ""
    state["arch_text"] = text
    state["arch_preset"] = matching_preset(text)
    state[TEXT_ERROR] = None
    state[NOTE] = note


def set_layers(layers: list[Layer], note: str | None = None) -> None:
    store([(new_uid(), layer) for layer in layers], note)


def default_layers() -> list[Layer]:
    shape, n = st.session_state[CONTEXT]
    spec, _ = arch.preset_for(arch.DEFAULT_PRESET, shape, n)
    return arch.parse(spec)


def load(text: str | None) -> None:
    """Layers from the URL's text (or a preset name); unreadable text falls back to the default
    with a note, never an error."""
    if text is None or text == "":
        set_layers(default_layers())
        return
    shape, n = st.session_state[CONTEXT]
    if text in arch.PRESETS:
        spec, note = arch.preset_for(text, shape, n)
        set_layers(arch.parse(spec), note)
        return
    notes: list[str] = []
    try:
        layers = arch.parse(text, notes)
    except ArchError as err:
        set_layers(
            default_layers(),
            f"The architecture in the link could not be read ({err}) Showing the "
            f"{arch.PRESET_INFO[arch.DEFAULT_PRESET][0].lower()} net instead.",
        )
        return
    set_layers(layers, " ".join(notes) or None)


# ---------------------------------------------------------------- callbacks


def on_preset() -> None:
    name = st.session_state.get("arch_preset")
    if name in arch.PRESETS:
        shape, n = st.session_state[CONTEXT]
        spec, note = arch.preset_for(name, shape, n)
        set_layers(arch.parse(spec), note)


APPLIED = "arch_applied_training"  # the training settings the last picked preset set


def on_preset_picked() -> None:
    """A preset picked from the box: its layers, and the training settings it was measured
    with (arch.PRESET_TRAINING) on the Train step, except those the user has set to something
    else (a value that is neither the page's default nor the last preset's is kept); the URL
    follows."""
    from cnnviz.ui.train.settings import DEFAULTS, OPT_LABELS

    on_preset()
    state = st.session_state
    name = state.get("arch_preset")
    if name not in arch.PRESET_TRAINING:
        return
    t = arch.preset_training(name)
    new = {
        "opt": OPT_LABELS[t["optimizer"]],
        "lr": t["lr"],
        "bs": t["batch_size"],
        "epochs": t["epochs"],
    }
    before = state.get(APPLIED, {})
    for key, value in new.items():
        if state.get(key) in (None, DEFAULTS[key], before.get(key)):
            state[key] = value
    state[APPLIED] = new


def on_text() -> None:
    text = st.session_state.get("arch_text") or ""
    notes: list[str] = []
    try:
        layers = arch.parse(text, notes)
    except ArchError as err:
        st.session_state[TEXT_ERROR] = str(err)
        return
    store(keep_uids(layers), " ".join(notes) or None)


def keep_uids(layers: list[Layer]) -> list[tuple[int, Layer]]:
    """Reuse the ids of unchanged layers at the same place (their widgets keep their state)."""
    old = st.session_state[ROWS]
    return [
        (old[i][0] if i < len(old) and old[i][1] == layer else new_uid(), layer)
        for i, layer in enumerate(layers)
    ]


def apply_spec(spec: str) -> None:
    notes: list[str] = []
    store(keep_uids(arch.parse(spec, notes)), " ".join(notes) or None)
