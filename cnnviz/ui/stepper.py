"""A player for a walk of steps: first, back, play/pause, next, last, a speed, a scrubber.

Keyboard: the buttons carry Streamlit 1.67's own `shortcut`s (Right and Left arrows step, Space
plays or pauses), so a speaker steps through a lesson without the mouse. Playing reruns only a
fragment (`run_every`), which advances the step and redraws; the buttons sit outside it, so
pressing Play or Pause reruns the page and turns the timer on or off.

State: `step` (1-based, bound to the URL: a link opens at that step), `speed` (URL),
`playing` (session only: a link never starts playing by itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from cnnviz.ui.present import presentation_mode

SPEEDS = (0.25, 0.5, 1.0, 2.0)  # seconds per step


def _speed_label(s: float) -> str:
    return f"{s:g} s"


def _set_step(value: int, n: int) -> None:
    st.session_state["step"] = max(1, min(n, value))


def _move(delta: int, n: int) -> None:
    st.session_state["playing"] = False
    _set_step(st.session_state.get("step", 1) + delta, n)


def _jump(value: int, n: int) -> None:
    st.session_state["playing"] = False
    _set_step(value, n)


def _toggle(n: int) -> None:
    playing = not st.session_state.get("playing", False)
    if playing and st.session_state.get("step", 1) >= n:
        _set_step(1, n)  # play again from the start
    st.session_state["playing"] = playing
    st.session_state["_tick"] = time.monotonic()


def current_step(n: int) -> int:
    """The 1-based step, kept inside 1..n when the walk got shorter."""
    if "step" not in st.session_state:  # first run: the slider reads the URL's step itself
        return 1
    step = st.session_state["step"]
    if not isinstance(step, int) or not 1 <= step <= n:
        _set_step(step if isinstance(step, int) else 1, n)
    return st.session_state["step"]


def player(n: int, draw: Callable[[int], None]) -> None:
    """The controls, then `draw(k)` for the current step k (0-based), redrawn while playing."""
    ss = st.session_state
    ss.setdefault("playing", False)
    if n <= 1:
        ss["playing"] = False
    current_step(n)
    playing = ss["playing"]
    with st.container(horizontal=True, vertical_alignment="bottom", key="player"):
        play = ("Pause", ":material/pause:") if playing else ("Play", ":material/play_arrow:")
        buttons = (  # label, key, icon, callback, its args, keyboard shortcut
            ("First", "first", ":material/first_page:", _jump, (1, n), "Home"),
            ("Back", "back", ":material/chevron_left:", _move, (-1, n), "Left"),
            (play[0], "play", play[1], _toggle, (n,), "Space"),
            ("Next", "next", ":material/chevron_right:", _move, (1, n), "Right"),
            ("Last", "last", ":material/last_page:", _jump, (n, n), "End"),
        )
        for label, key, icon, callback, args, shortcut in buttons:
            st.button(
                label,
                key=key,
                type="primary" if key == "play" else "secondary",
                icon=icon,
                on_click=callback,
                args=args,
                disabled=n <= 1,
                shortcut=shortcut,
            )
        speed = st.select_slider(
            "Seconds per step",
            SPEEDS,
            value=0.5,
            format_func=_speed_label,
            key="speed",
            bind="query-params",
            width=260,
        )
    present = presentation_mode()
    if not present:
        st.caption("Keyboard: → next step, ← step back, space play/pause, Home/End first/last.")

    @st.fragment(run_every=speed if playing else None)
    def stage() -> None:
        if ss.get("playing") and time.monotonic() - ss.get("_tick", 0.0) >= 0.8 * speed:
            if ss.get("step", 1) >= n:
                ss["playing"] = False
                st.rerun()  # the whole page: the timer stops, Play shows again
            ss["_tick"] = time.monotonic()
            _set_step(ss.get("step", 1) + 1, n)
        # presenting: the grids right under the buttons, the scrubber under the grids
        above, below = (st.container(), st.container())
        with below if present else above:
            if n > 1:
                k = st.slider(f"Step (of {n})", 1, n, key="step", bind="query-params")
            else:
                k = 1
                st.caption("There is a single step: the window fits in one place only.")
        with above if present else below:
            draw(k - 1)

    stage()
