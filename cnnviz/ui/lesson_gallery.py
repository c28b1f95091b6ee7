"""Home's lesson gallery: each curated link with its thumbnail and one sentence."""

from __future__ import annotations

import functools

import streamlit as st

from cnnviz.lesson_links import LESSONS, Lesson, thumbnail
from cnnviz.render.png import array_to_png
from cnnviz.ui.links import copy_link_box, from_root
from cnnviz.ui.nav import page_at

COLUMNS = 5


@functools.lru_cache(maxsize=len(LESSONS))
def _png(slug: str) -> bytes:
    """Encoded once per server: the same few hundred bytes for everyone."""
    return array_to_png(thumbnail(slug))


def _link(lesson: Lesson) -> None:
    """A link that opens the lesson's page in the lesson's state (a plain link when the page
    runs on its own, e.g. in a test)."""
    from streamlit.errors import StreamlitAPIException

    info = page_at(lesson.page_path)
    # the page's name alone: "Open in Train a CNN" was cut to "Open in Train a CN" in a card
    label = info.title
    try:
        st.page_link(
            info.path,
            label=label,
            icon=info.icon,
            query_params=lesson.query,
            help=f"Open the lesson '{lesson.title}' in {info.title}",
        )
    except StreamlitAPIException:
        st.markdown(f"[{label}]({lesson.url})")


def gallery() -> None:
    """Ten lessons, five a row: thumbnail, link, sentence; the teacher copies the link (a
    popover: the address in a code box with a copy button)."""
    st.subheader("Lessons to share")
    st.caption(
        "Each link opens a page in exactly the lesson's state; controls the lesson "
        "fixes are hidden and named on the page. Add `quiz=1` to a link for questions."
    )
    for start in range(0, len(LESSONS), COLUMNS):
        cols = st.columns(COLUMNS, gap="small")
        for col, lesson in zip(cols, LESSONS[start : start + COLUMNS]):
            with col.container(border=True, key=f"lesson_{lesson.slug}"):
                h, w = thumbnail(lesson.slug).shape[:2]
                st.image(
                    _png(lesson.slug),
                    width=w,
                    output_format="PNG",
                    alt=f"Picture for the lesson '{lesson.title}', {w} × {h} px",
                )
                st.markdown(f"**{lesson.title}**")
                st.caption(lesson.sentence)
                _link(lesson)
                if (box := copy_link_box(f"lesson_link_{lesson.slug}")) is not None:
                    box.code(from_root(lesson.url), language=None, wrap_lines=True)
