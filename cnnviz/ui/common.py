"""The page shell: safe page runs (link notes included), error boxes with fix buttons, a function's
source, figures and pictures, links to other pages."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable

import numpy as np
import streamlit as st

from cnnviz.figures.bars import bars_data, bars_spec
from cnnviz.figures.grid import grid_html
from cnnviz.render.png import array_to_png
from cnnviz.shapes import Fix, SettingError
from cnnviz.ui import links
from cnnviz.ui.who import claim_teacher

log = logging.getLogger("cnnviz")
TIMING = os.environ.get("CNNVIZ_TIMING") == "1"  # log each page run's duration (benchmarks)
COUNT_FROM_0 = "Rows and columns count from 0, like numpy and torch indices."


def show_setting_error(
    err: SettingError,
    title: str = "These settings cannot work",
    apply: Callable[[Fix], None] | None = None,
) -> None:
    """A red box: why, in the engine's words, and what would work; with `apply`, one button
    per fix that changes the settings to it."""
    tips = "".join(f"\n- {s}" for s in err.suggestions)
    st.error(
        f"**{title}.** {err}" + (f"\n\nWhat would work:{tips}" if tips else ""),
        icon=":material/block:",
    )
    if apply is not None:
        fix_buttons([f for f in err.fixes if f.changes], apply, _fix_words)


def _fix_words(f: Fix) -> str:
    words = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in f.changes)
    return words + (f" ({f.axis})" if f.axis else "")


def fix_buttons(
    fixes: list,
    apply: Callable,
    words: Callable = lambda f: f.text,
    verb: str = "Set",
    key: str = "fix",
) -> None:
    """One button per fix ("Set padding 1"): a click calls `apply(fix)` before the rerun."""
    for i, f in enumerate(fixes):
        st.button(
            f"{verb} {words(f)}",
            key=f"{key}_{i}",
            on_click=apply,
            args=(f,),
            icon=":material/auto_fix_high:",
        )


def ensure_router() -> None:
    """Make sure the page runs under app.py's st.navigation, not Streamlit's legacy pages/ mode.

    Streamlit 1.67 decides per server process: until some run calls st.navigation, a `pages/`
    folder next to app.py puts it in the legacy mode, where a first visitor's deep link
    (/output_size) runs the page file alone, with an auto-generated menu ("app", "home", ...)
    and without app.py. Leave that mode and run again, now through app.py's router.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def run_safely(
    page: Callable[[], None],
    url_labels: dict[str, Callable] | None = None,
    own_link_notes: tuple[str, ...] = (),
) -> None:
    """Run a page; an unexpected error becomes a short apology, never a traceback.

    Values of the opened link that could not be used are named in a note at the top of the
    page (the defaults are shown); controls the link hides (`?hide=`) are named in a note too
    ("Fixed by this lesson: stride 2"). `url_labels`: widget key -> the label function its options
    are shown with; `own_link_notes`: keys whose unusable values the page explains itself
    (`links.note`).
    """
    ensure_router()
    links.begin_run()
    claim_teacher()  # a teacher link's key leaves the address before anything reads it
    fixed_slot = st.empty() if links.hidden_keys() else None
    slot = st.empty()
    initial = {k: st.query_params.get_all(k) for k in st.query_params}
    removed = links.drop_unusable_link_values()
    started = time.perf_counter()
    try:
        page()
        if TIMING:
            where = os.path.basename(page.__code__.co_filename)
            log.warning("timing %s %.1f ms", where, (time.perf_counter() - started) * 1e3)
    except SettingError as err:
        show_setting_error(err)
    except Exception:  # noqa: BLE001 - the last line of defence for a classroom server
        log.exception("page failed")
        st.error(
            "Something went wrong while drawing this page. Your settings are kept: change one "
            "and try again, or reload the page.",
            icon=":material/warning:",
        )
    if fixed_slot is not None and (note := links.fixed_note()):
        fixed_slot.info(note, icon=":material/lock:")
    links.show_notes(slot, initial, removed, url_labels or {}, own_link_notes)


def show_rgb(image: np.ndarray, caption: str | None = None) -> None:
    """Show an (H, W[, 3]) picture as PNG, never as a float heatmap (smaller, sharper)."""
    alt = caption or f"picture, {image.shape[0]} × {image.shape[1]}"
    st.image(array_to_png(image), caption=caption, width="stretch", alt=alt)


@functools.lru_cache(maxsize=64)
def _source(fn: Callable) -> str:
    """A function's source, read once per server (the files do not change while it runs)."""
    import inspect

    return inspect.getsource(fn)


# Why no code block is drawn until asked: the first st.code of a page load makes the browser load
# and start Streamlit's code highlighter, about 0.27 s of CPU per load (a fifth of what a page
# load costs it here; measured on a minimal app, with and without one st.code). So code sits in
# expanders and popovers drawn only once opened, and worked sums that are not code are plain
# monospaced HTML (`show_lines`).


def code_expander(label: str, key: str, icon: str = ":material/code:"):
    """A closed expander whose content is drawn only once it is opened (opening reruns the
    page): the expander to write into, or None while it is closed."""
    box = st.expander(label, icon=icon, key=key, on_change="rerun")
    return box if box.open else None


def show_source(*functions: Callable, label: str = "The cnnviz code that computed this") -> None:
    """An expander with the engine functions' own source: what the page shows, as code. Drawn
    only when opened (its key is made of the functions' names)."""
    box = code_expander(label, "source_" + "_".join(fn.__name__ for fn in functions))
    if box is None:
        return
    with box:
        for fn in functions:
            st.caption(f"{fn.__module__}.{fn.__qualname__}")
            st.code(_source(fn), language="python")


_LINES = (
    '<pre data-testid="cnnviz-lines" style="font-family: \'Source Code Pro\', monospace; '
    "font-size: 0.875rem; line-height: 1.6; margin: 0; padding: 1rem; border-radius: 0.5rem; "
    'background: rgba(151, 166, 195, 0.15); white-space: {}; overflow-x: auto;">{}</pre>'
)


def show_lines(text: str, where=st, wrap: bool = False) -> None:
    """Monospaced lines that are not code (a worked sum, an update rule), so that columns of
    numbers line up: plain HTML, without st.code's highlighter. `wrap`: long lines wrap instead
    of scrolling."""
    import html

    where.html(_LINES.format("pre-wrap" if wrap else "pre", html.escape(text)))


def link_to(page, label: str) -> None:
    """A link to another page of the app (a plain link when the page runs on its own)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page.path, label=label, icon=page.icon)
    except StreamlitAPIException:  # not under st.navigation, e.g. the page file run alone
        st.markdown(f"[{label}](/{page.url_path})")


def show_grid(grid, key: str) -> None:
    """A grid of numbered cells (a `cnnviz.figures.grid.CellGrid`) as HTML, in a container with
    this key: at its own size, smaller in a narrower column (never cut)."""
    st.container(key=key).html(grid_html(grid, key))


def show_bars(
    values,
    classes,
    *,
    highlight: int | None = None,
    percent: bool = False,
    title: str = "",
    labels: bool = True,
    key: str | None = None,
) -> None:
    """One bar per class (`cnnviz.figures.bars`), the highlighted one (by default the largest)
    red, as wide as its column."""
    spec = bars_spec(len(classes), percent, title, labels)
    spec["data"] = {"values": bars_data(values, classes, highlight, percent)}
    extra = 40 + (24 if title else 0)  # the axis (and the title) besides the bars
    st.vega_lite_chart(spec, width="stretch", height=spec["height"] + extra, key=key)


def see_also(*paths: str) -> None:
    """A row of links to related pages, at the foot of a page."""
    from cnnviz.ui.nav import page_at

    with st.container(horizontal=True):
        for path in paths:
            info = page_at(path)
            link_to(info, f"Next: {info.title}")


def link_with(path: str, label: str, query: dict) -> None:
    """A same-tab link to another page of the app that opens it with these settings (a plain
    link when the page runs on its own, as in AppTest)."""
    from urllib.parse import urlencode

    from streamlit.errors import StreamlitAPIException

    from cnnviz.ui.nav import page_at

    info = page_at(path)
    try:
        st.page_link(info.path, label=label, icon=info.icon, query_params=query)
    except StreamlitAPIException:
        st.markdown(f"[{label}]({info.url_path}?{urlencode(query)})")


def one_of(value, options, fallback):
    """`value` if it is one of `options`, else `fallback`. The browser names a selectbox's
    choice by its label: when the labels depend on data that changed (a prediction, a net's
    layers, a list of mistakes) and no option carries that label any more, Streamlit 1.67 hands
    back the label itself instead of an option."""
    return value if value in list(options) else fallback


def remember(store: dict, key, value, keep: int) -> None:
    """store[key] = value, dropping the oldest entries beyond `keep` (a session's results)."""
    store[key] = value
    while len(store) > keep:
        store.pop(next(iter(store)))
