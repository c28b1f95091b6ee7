"""The output-size panel: the formula with the user's numbers, per dimension, and what it means."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from cnnviz.shapes import Fix, OutputSize, SettingError
from cnnviz.ui.common import fix_buttons, show_setting_error
from cnnviz.ui.params import usable_fixes

CEIL_LABEL = "ceil_mode (round the size up)"
CEIL_HELP = (
    "Rounds the output size up instead of down. PyTorch then keeps a last, partial window that "
    "hangs past the end, unless that window would start after the input (in the right "
    "padding): then it drops it and the size is as without ceil_mode. The sentence under the "
    "formula says which, in your numbers."
)
PADDING_KINDS = ("number", "valid", "same", "full")  # the Padding control's choices
PADDING_KIND_HELP = (
    "a number of cells on each side; 'valid' (none); 'same' (the output as big as the input: "
    "PyTorch allows it with stride 1 only, Keras/TensorFlow with any stride s, giving "
    "⌈input / s⌉); 'full' (every overlap of kernel and input)"
)
OUTPUT_PADDING_HELP = (
    "Makes the output longer at the bottom/right: first by cropping fewer stamped cells there "
    "(as many as the padding), then by adding cells past the last stamp, which hold only the bias."
)


def show_formulas(out: OutputSize, what: str) -> None:
    """`what` names the layer ("Convolution"); one block if height and width agree."""
    dims = out.dims[:1] if out.symmetric else out.dims
    for d in dims:
        axis = "height and width" if len(dims) == 1 else d.axis
        st.markdown(f"**{what}, {axis}:** `{d.formula}`")
        st.caption(d.explanation)


def refuse(
    err: SettingError, what: str, keys: dict[str, str], apply: Callable[[Fix], None]
) -> None:
    """A red panel; fix buttons only for the settings this page has (`keys`: engine name ->
    widget key, or None for a setting the page keeps at the value the fix asks for)."""
    usable = usable_fixes(err.fixes, keys)
    shown = SettingError(str(err), usable + [f.text for f in err.fixes if f not in usable])
    show_setting_error(shown, title=f"{what}: these settings cannot work", apply=apply)


def refuse_chain(err: SettingError, what: str, fixes: list, apply: Callable) -> None:
    """A red panel for the Convolution page's chain: why (the engine's words), then one button
    per fix that makes the whole chain work, convolution AND pooling (`playground.chain_fixes`),
    so a click never leads straight to the next refusal."""
    tips = "".join(f"\n- {f.text}" for f in fixes)
    st.error(
        f"**{what}: these settings cannot work.** {err}"
        + (
            f"\n\nWhat would work for the whole chain (convolution, then pooling):{tips}"
            if tips
            else "\n\nChange the kernel size or the picture's working size."
        ),
        icon=":material/block:",
    )
    fix_buttons(fixes, apply)
