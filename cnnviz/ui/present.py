"""Presentation mode: a speaker's projector view of any page.

`?present=1` in a link (or the "Presentation mode" toggle) hides the sidebar and Streamlit's own
chrome, sets large high-contrast type and lets the main area use the whole screen. Pages ask
`presentation_mode()` to put their result first and gather their settings in one collapsed
expander (`settings_box()`).

State: the session's `_present` value is the truth once the session started; the URL mirrors it
(`present=1`, removed when off), so a copied link opens in the same mode. A toggle widget bound
with Streamlit's `bind="query-params"` would only read `true`/`false`, not the `1` a teacher
types; and a widget's state is per page (its id includes the page's hash: a page switch would
turn the mode off), hence the hand-made binding.

This is the only Streamlit glue for the mode: app.py calls `presentation_toggle()` once per run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from cnnviz.ui.params import sync_url

KEY = "present"  # URL name and the toggle's key
STATE = "_present"  # session key: the mode, across pages
ON = ("1", "true", "yes", "on")
BODY_PX = 24  # body text size in presentation mode (CSS px)

# Streamlit 1.67's test ids (checked in the browser): the header bar with its menu, the toolbar,
# the coloured decoration line, the sidebar and the button that reopens it.
_CSS = f"""
<style>
html {{ font-size: {BODY_PX}px; }}
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stStatusWidget"] {{ display: none !important; }}
[data-testid="stMain"] {{ margin-left: 0 !important; }}
[data-testid="stMainBlockContainer"] {{
  max-width: 100% !important; padding: 0.6rem 1.2rem 2rem 1.2rem !important;
}}
[data-testid="stAppViewContainer"], [data-testid="stMain"] {{ background: #ffffff; color: #000000; }}
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] td, [data-testid="stMain"] th {{ color: #000000; }}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {{
  font-size: 1rem; line-height: 1.4;
}}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * {{
  color: #1a1a1a !important;
}}
[data-testid="stCaptionContainer"] {{ font-size: 0.8rem; }}
[data-testid="stWidgetLabel"] p {{ font-size: 0.85rem; }}
h1 {{ font-size: 1.9rem !important; padding-top: 0 !important; }}
a {{ color: #0b3d91; }}
/* long labels wrap instead of being cut */
[data-testid="stMain"] button p, [data-testid="stMain"] [data-testid="stMarkdownContainer"] {{
  overflow-wrap: anywhere;
}}
[data-testid="stMain"] button {{ height: auto; min-height: 2rem; white-space: normal; }}
.st-key-present_toggle {{
  position: fixed; top: 0.3rem; right: 0.6rem; z-index: 1000; width: auto !important;
  background: rgba(255, 255, 255, 0.92); border-radius: 0.4rem; padding: 0 0.3rem;
}}
.st-key-present_toggle label p {{ font-size: 0.55rem !important; }}
</style>
"""


# In every mode: labels wrap onto a second line instead of ending in "…", and a row of pills or
# segmented buttons wraps instead of running out of its column (found by tests/browser/
# test_present.py at 1280x720 and at 150 % zoom).
_FIT_CSS = """
<style>
.stMarkdownEllipsis, .stMarkdownEllipsis p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stButtonGroup"] > div { flex-wrap: wrap; overflow: visible; row-gap: 0.25rem; }
[data-testid="stMain"] button { max-width: 100%; height: auto; }
/* a grid of numbers is never drawn narrower than 150 px: its column wraps to the next row instead */
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-grid]) { flex-wrap: wrap; }
[data-testid="stColumn"]:has([data-grid]) { min-width: 160px; }
</style>
"""


def _from_url() -> bool:
    return str(st.query_params.get(KEY, "")).strip().lower() in ON


def presentation_mode() -> bool:
    """Is this session in presentation mode? (The URL's `present` decides on a first run.)"""
    if STATE in st.session_state:
        return bool(st.session_state[STATE])
    return _from_url()


def _toggled() -> None:
    st.session_state[STATE] = bool(st.session_state[KEY])
    _sync_url()


def _sync_url() -> None:
    sync_url(KEY, "1" if st.session_state.get(STATE) else None)


def presentation_toggle() -> bool:
    """The toggle (in the sidebar; pinned to the top right when the sidebar is hidden), the
    URL kept in step, and the mode's CSS; returns whether the mode is on. Call once per run."""
    if STATE not in st.session_state:
        st.session_state[STATE] = _from_url()
    on = bool(st.session_state[STATE])
    where = st.container(key="present_toggle") if on else st.sidebar
    with where:
        st.toggle(
            "Presentation mode",
            value=on,
            key=KEY,
            on_change=_toggled,
            help="Large type, no sidebar, the result first: for a projector. "
            "A link with ?present=1 opens this way.",
        )
    _sync_url()  # page switches drop the query string: put the mode back
    st.html(_FIT_CSS + (_CSS if on else ""))
    return on


@contextlib.contextmanager
def settings_box(label: str = "Settings", sidebar: bool = True) -> Iterator[None]:
    """Where a page draws its settings: the sidebar (or the page itself, `sidebar=False`)
    normally; one collapsed expander in presentation mode, so the result comes first."""
    if presentation_mode():
        with st.expander(label, expanded=False, icon=":material/tune:"):
            yield
    elif sidebar:
        with st.sidebar:
            yield
    else:
        yield
