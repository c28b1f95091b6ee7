"""The question card: predict, then reveal. One widget for every page (`card`).

A page opens in quiz mode from its link (`?quiz=1`) or the "Quiz me" toggle. The card asks a
question the engine made from the page's settings (`cnnviz.quiz`), takes one answer, then
reveals the right one with its explanation and counts right answers for the whole session
(every page adds to the same count). "Another question" draws a new one from the same settings.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from cnnviz.quiz import Question
from cnnviz.ui.params import sync_url

SCORE = "quiz_score"  # session_state: {"right": int, "asked": int}
ANSWERED = "quiz_answered"  # session_state: {question id: chosen option index}


def quiz_mode() -> bool:
    """On when the link says `quiz=1` (or the toggle set it); the toggle keeps it in the URL."""
    on = st.query_params.get("quiz", "").lower() in ("1", "true", "yes", "on")
    if (
        st.toggle(
            "Quiz me: predict, then reveal",
            on,
            key="quiz_toggle",
            help="Questions made from this page's settings; the page reveals the answer "
            "after you choose. Links with quiz=1 open in this mode.",
        )
        != on
    ):
        on = not on
    sync_url("quiz", "1" if on else None)
    return on


def score() -> dict[str, int]:
    return st.session_state.setdefault(SCORE, {"right": 0, "asked": 0})


def _check(q: Question, radio_key: str) -> None:
    choice = st.session_state.get(radio_key)
    if choice is None:
        return
    answered = st.session_state.setdefault(ANSWERED, {})
    if q.id in answered:
        return  # one answer per question: the count stays honest
    index = q.options.index(choice)
    answered[q.id] = index
    s = score()
    s["asked"] += 1
    s["right"] += int(q.is_right(index))


def _another(seed_key: str) -> None:
    st.session_state[seed_key] = st.session_state.get(seed_key, 0) + 1


def seed(key: str) -> int:
    """This card's question number: "Another question" adds one."""
    return st.session_state.get(f"quiz_seed_{key}", 0)


def card(
    key: str,
    make: Callable[[int], Question | None],
    picture: Callable[[Question], None] | None = None,
    nothing: str = "These settings give nothing to ask here: change one.",
) -> bool:
    """Draw the card for `make(seed)`; return True once the question is answered (the page
    may then show what it held back, e.g. the formula)."""
    q = make(seed(key))
    with st.container(border=True, key=f"quiz_card_{key}"):
        st.markdown("**Predict, then reveal**")
        if q is None:
            st.caption(nothing)
            _footer(key)
            return True
        st.markdown(q.prompt)
        if picture is not None and q.picture is not None:
            picture(q)
        radio_key = f"quiz_choice_{key}_{q.id}"
        chosen = st.session_state.get(ANSWERED, {}).get(q.id)
        st.radio("Your answer", q.options, index=None, key=radio_key, disabled=chosen is not None)
        if chosen is None:
            st.button(
                "Check",
                key=f"quiz_check_{key}",
                on_click=_check,
                args=(q, radio_key),
                icon=":material/help:",
                type="primary",
            )
        else:
            box = st.success if q.is_right(chosen) else st.error
            box(
                q.feedback(chosen),
                icon=":material/check_circle:" if q.is_right(chosen) else ":material/cancel:",
            )
        _footer(key)
    return chosen is not None


def _footer(key: str) -> None:
    s = score()
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Another question",
            key=f"quiz_next_{key}",
            on_click=_another,
            args=(f"quiz_seed_{key}",),
            icon=":material/refresh:",
        )
        st.markdown(
            f"Right answers this session: <b data-testid='quiz-score'>{s['right']} of "
            f"{s['asked']}</b>",
            unsafe_allow_html=True,
        )


# ------------------------------------------------------------------ the pages' questions


def size_card(out) -> bool:
    """Output size: "what size comes out?" for the sizes the engine computed."""
    from cnnviz.quiz import size_question

    return card("size", lambda n: size_question(out, n))


def kernel_card(image, s) -> bool:
    """Convolution: "which kernel made this map?" on the page's picture (as brightness) with
    its stride, padding and dilation; the map is drawn with its size and value range."""
    from cnnviz import playground
    from cnnviz.quiz import kernel_question

    gray = playground.as_input(image, "gray")[0]

    def draw(q: Question) -> None:
        from cnnviz.render.colormaps import range_caption, value_range
        from cnnviz.render.png import map_png

        rng = value_range(q.picture)
        png, _ = map_png(q.picture, rng=rng, min_side=192)
        h, w = q.picture.shape
        text = f"The map to explain: {h} × {w}, {range_caption(rng)}"
        st.image(png, width=320, caption=text, alt=text)

    return card(
        "kernel",
        lambda n: kernel_question(gray, n, s.stride, s.padding, s.dilation, s.padding_mode),
        draw,
    )


def pool_card(grid, c: dict) -> bool:
    """Pooling: "which cell wins?" on the small grid with the page's pooling settings."""
    from cnnviz.quiz import pool_question

    return card(
        "pool",
        lambda n: pool_question(
            grid, c["kernel_size"], c["stride"], c["padding"], c["ceil_mode"], n
        ),
        nothing="Every window of this grid holds one number only: nothing to win. "
        "Edit the grid or the window.",
    )


def step_card(walk, n_steps: int) -> bool:
    """Step by step: "which number does a later step write?" (the page shows this step's and
    the ones before): the next step first, then, with "Another question", the steps after."""
    from cnnviz.quiz import step_question

    k = int(st.session_state.get("step", 1) or 1)  # 1-based: the next step's index is k
    if k >= n_steps:
        return card(
            "step",
            lambda n: None,
            nothing="This is the last step: go back a few "
            "steps and predict what the next one writes.",
        )
    return card(
        "step",
        lambda n: step_question(walk, k + n % (n_steps - k), n),
        nothing="Questions here cover convolution and pooling with one output map.",
    )
