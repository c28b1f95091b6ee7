"""A drawing pad whose ink reaches Python the moment the pen lifts.

An inline Streamlit custom component (components v2: HTML, CSS and JavaScript in this file, no
build step, nothing downloaded). White strokes on a black square; on pointer-up the picture is
sent as a PNG data URL, decoded here by the guarded image decoder. `streamlit-drawable-canvas`
was used before: it waits 200 ms after the pen lifts before sending anything (a constant in its
JavaScript), which alone used the Explore page's whole time budget for a stroke.
"""

from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from cnnviz.images.decode import ImageError, load_image

_PREFIX = "data:image/png;base64,"

_JS = """
export default function (component) {
  const { parentElement, setStateValue, data } = component;
  const canvas = parentElement.querySelector("canvas");
  const g = canvas.getContext("2d");
  const blank = () => { g.fillStyle = "#000"; g.fillRect(0, 0, canvas.width, canvas.height); };
  // Streamlit calls this again whenever it re-renders the pad, each time with a fresh
  // setStateValue: the listeners (added once) always send through the newest one.
  canvas.send = setStateValue;
  if (canvas.dataset.ready) return;  // a rerun: keep the drawing and the listeners
  canvas.dataset.ready = "1";
  canvas.width = canvas.height = data.size;
  blank();
  let down = false;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  const pen = () => {
    g.strokeStyle = "#fff"; g.lineWidth = data.pen; g.lineCap = "round"; g.lineJoin = "round";
  };
  canvas.addEventListener("pointerdown", (e) => {
    down = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    pen(); g.beginPath(); g.moveTo(x, y); g.lineTo(x, y); g.stroke();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!down) return;
    const [x, y] = at(e);
    g.lineTo(x, y); g.stroke();
  });
  const up = () => {
    if (!down) return;
    down = false;
    canvas.send("png", canvas.toDataURL("image/png"));
  };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  parentElement.querySelector("button").addEventListener("click", () => {
    blank();
    canvas.send("png", null);
  });
}
"""

_PAD = st.components.v2.component(
    "cnnviz_sketch",
    html='<div class="pad"><canvas aria-label="Drawing pad: draw with the mouse, a pen or a '
    'finger"></canvas><button type="button">Clear</button></div>',
    css="""
    .pad { display: flex; flex-direction: column; gap: 0.5rem; align-items: flex-start; }
    canvas { touch-action: none; cursor: crosshair; border-radius: var(--st-base-radius);
             border: 1px solid var(--st-border-color); }
    button { font: inherit; font-family: var(--st-font); padding: 0.25rem 0.75rem;
             border: 1px solid var(--st-border-color); border-radius: var(--st-button-radius);
             background: var(--st-background-color); color: var(--st-text-color); cursor: pointer; }
    """,
    js=_JS,
)


def sketch_pad(key: str, size: int, pen: int) -> np.ndarray | None:
    """The pad (size × size px, pen width in px) and its ink, (size, size) floats in [0, 1]
    (0 where nothing is drawn), or None while it is blank. ValueError with a sentence when what
    the browser sent is not a picture."""
    result = _PAD(
        key=key,
        data={"size": int(size), "pen": int(pen)},
        default={"png": None},
        on_png_change=lambda: None,
    )
    return ink_from_data_url(result.png)


def ink_from_data_url(sent) -> np.ndarray | None:
    """What the pad sent (a PNG data URL, or None while blank) as ink in [0, 1]; ValueError with
    a sentence for anything else (the browser is the user's: it may send anything)."""
    if not sent:
        return None
    if not isinstance(sent, str) or not sent.startswith(_PREFIX):
        raise ValueError("The drawing could not be read; press Clear and draw again.")
    try:
        picture = load_image(base64.b64decode(sent[len(_PREFIX) :], validate=True), mode="gray")
    except (ValueError, ImageError) as err:  # binascii.Error is a ValueError
        raise ValueError(
            f"The drawing could not be read ({err}); press Clear and draw again."
        ) from err
    return picture.array.astype(np.float32)
