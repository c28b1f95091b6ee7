"""Shared Streamlit pieces: error boxes, safe page runs, feature maps as PNG."""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import streamlit as st

from cnnviz.render.png import array_to_png
from cnnviz.shapes import Fix, SettingError

log = logging.getLogger("cnnviz")
T = TypeVar("T")
TIMING = os.environ.get("CNNVIZ_TIMING") == "1"  # log each page run's duration (benchmarks)


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
    if apply is None:
        return
    for i, f in enumerate(f for f in err.fixes if f.changes):
        words = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in f.changes)
        where = f" ({f.axis})" if f.axis else ""
        st.button(
            f"Set {words}{where}",
            key=f"fix_{i}",
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


def _norm(x) -> str:
    return "".join(ch for ch in str(x).lower() if ch.isalnum() or ch in ".-")


def _same(raw: str, value, label: Callable | None) -> bool:
    """Does the URL text `raw` mean this widget value (as written, or as its label)?"""
    if isinstance(value, bool):
        return raw.lower() == str(value).lower()
    candidates = {_norm(value)} | ({_norm(label(value))} if label else set())
    if _norm(raw) in candidates:
        return True
    try:
        return float(raw) == float(value)
    except (TypeError, ValueError):
        return False


def link_values_mean(raws: list[str], value, label: Callable | None = None) -> bool:
    """Does every value the URL gave for a key appear in the widget's value? (A multi-selection
    keeps the valid ones: Streamlit then rewrites the URL, so only a wholly dropped one is here.)"""
    if isinstance(value, (list, tuple)):
        return all(any(_same(r, v, label) for v in value) for r in raws)
    return _same(raws[-1], value, label) if raws else True


def _shown(key: str, raw: str) -> str:
    """`key=value` for a note; a very long value cut short."""
    return f"{key}={raw if len(raw) <= 40 else raw[:37] + '...'}"


def note_unusable_link_values(
    initial: dict[str, list[str]], labels: dict[str, Callable]
) -> list[str]:
    """After a run: which values of the opened link (key -> every value given for it) were
    dropped as invalid (Streamlit removes them from the URL and shows the default). A note
    says so; never an error."""
    dropped = []
    for key, raws in initial.items():
        if key in st.query_params or key not in st.session_state:
            continue
        if not link_values_mean(raws, st.session_state[key], labels.get(key)):
            dropped.append(_shown(key, raws[-1] if raws else ""))
    return dropped


MAX_LINK_VALUE = 4000  # characters: no setting is longer (an 11x11 kernel is ~1,000)


def unusable_link_value(raw: str) -> bool:
    """A value no widget or page can use: empty, longer than MAX_LINK_VALUE, or a number that
    is not finite ("inf", "nan", "1e400", 400 nines). Streamlit 1.67 lets such values reach
    the widgets, where a whole-number st.number_input overflows (int(inf)) and an empty
    required segmented control returns None."""
    if raw == "" or len(raw) > MAX_LINK_VALUE:
        return True
    try:
        return not math.isfinite(float(raw))
    except ValueError:
        return False


def drop_unusable_link_values() -> dict[str, str]:
    """Before any widget reads the URL: remove the values `unusable_link_value` refuses, from
    the address bar and from what Streamlit seeds widgets with; return them (key -> value)."""
    from urllib.parse import urlencode

    from streamlit.runtime.scriptrunner import get_script_run_ctx

    bad = {k: st.query_params.get_all(k) for k in st.query_params}
    bad = {k: v for k, v in bad.items() if not v or any(unusable_link_value(x) for x in v)}
    ctx = get_script_run_ctx()
    if not bad or ctx is None:
        return {}
    keep = [(k, v) for k in st.query_params if k not in bad for v in st.query_params.get_all(k)]
    with ctx.session_state.query_params() as qp:
        # Widgets are seeded from the "initial" parameters, not from st.query_params.
        qp.set_initial_query_params(urlencode(keep))
        for key in bad:
            qp.remove_param(key)
    return {k: v[-1] if v else "" for k, v in bad.items()}


COUNT_FROM_0 = "Rows and columns count from 0, like numpy and torch indices."
HIDE_PARAM = "hide"  # ?hide=s,p: a lesson link keeps these controls out of sight
_FIXED = "cnnviz_fixed"  # session_state: this run's hidden controls, key -> "stride 2"
_NAMES = "cnnviz_control_names"  # session_state: this run's hideable controls, key -> "stride"


def hidden_keys() -> frozenset[str]:
    """The widget keys the opened link hides (`?hide=s,p`, or `hide` given several times)."""
    raw = st.query_params.get_all(HIDE_PARAM)
    return frozenset(k.strip() for r in raw for k in r.split(",") if k.strip())


def describe_value(value, fmt: Callable | None = None) -> str:
    """A control's value in a sentence: "2", "2 × 3" (height × width), "on", "max"."""
    if fmt is not None:
        return str(fmt(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], str):
        return f"{value[0]:g}" if value[0] == value[1] else f"{value[0]:g} × {value[1]:g}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")


def hideable(key: str, name: str, draw: Callable[[], T], fmt: Callable | None = None) -> T:
    """`draw()` (the widgets of one control, the first keyed `key`), or, when the link hides
    `key` (`?hide=key`), the same widgets drawn and at once taken off the page: they still read
    and keep the link's value (Streamlit's own parsing, so `s=999` is still refused with a
    note), the student cannot change it, and the page says what the lesson fixed."""
    st.session_state.setdefault(_NAMES, {})[key] = name
    if key not in hidden_keys():
        return draw()
    slot = st.empty()
    with slot.container():
        value = draw()
    slot.empty()
    st.session_state.setdefault(_FIXED, {})[key] = f"{name} {describe_value(value, fmt)}"
    return value


def fixed_note() -> str | None:
    """ "Fixed by this lesson: stride 2, padding 1." for the controls hidden in this run."""
    fixed = st.session_state.get(_FIXED) or {}
    return f"Fixed by this lesson: {', '.join(fixed.values())}." if fixed else None


def run_safely(
    page: Callable[[], None],
    url_labels: dict[str, Callable] | None = None,
    own_link_notes: tuple[str, ...] = (),
) -> None:
    """Run a page; an unexpected error becomes a short apology, never a traceback.

    Values of the opened link that could not be used are named in a note at the top of the
    page (the defaults are shown); controls the link hides (`?hide=`) are named in a note too
    ("Fixed by this lesson: stride 2"). `url_labels`: widget key -> the label function its options
    are shown with; `own_link_notes`: keys whose unusable values the page explains itself.
    """
    ensure_router()
    st.session_state[_FIXED] = {}
    st.session_state[_NAMES] = {}
    fixed_slot = st.empty() if hidden_keys() else None
    slot = st.empty()
    initial = {k: st.query_params.get_all(k) for k in st.query_params}
    removed = drop_unusable_link_values()
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
    if fixed_slot is not None and (note := fixed_note()):
        fixed_slot.info(note, icon=":material/lock:")
    compared = {k: v for k, v in initial.items() if k not in removed and k not in own_link_notes}
    dropped = [_shown(k, v) for k, v in removed.items()]
    if dropped := dropped + note_unusable_link_values(compared, url_labels or {}):
        slot.warning(
            "Some settings in this link could not be used, so the defaults are shown for "
            f"them: {', '.join(dropped)}.",
            icon=":material/link_off:",
        )


def show_rgb(image: np.ndarray, caption: str | None = None) -> None:
    """Show an (H, W[, 3]) picture as PNG, never as a float heatmap (smaller, sharper)."""
    alt = caption or f"picture, {image.shape[0]} × {image.shape[1]}"
    st.image(array_to_png(image), caption=caption, width="stretch", alt=alt)


@functools.lru_cache(maxsize=64)
def _source(fn: Callable) -> str:
    """A function's source, read once per server (the files do not change while it runs)."""
    import inspect

    return inspect.getsource(fn)


def show_source(
    *functions: Callable, label: str = "The cnnviz code that computed this", lazy: bool = False
) -> None:
    """An expander with the engine functions' own source: what the page shows, as code. `lazy`:
    drawn only when opened (opening reruns the page), so closed it costs a page run nothing."""
    box = (
        st.expander(label, icon=":material/code:", key="source_open", on_change="rerun")
        if lazy
        else st.expander(label, icon=":material/code:")
    )
    if lazy and not box.open:
        return
    with box:
        for fn in functions:
            st.caption(f"{fn.__module__}.{fn.__qualname__}")
            st.code(_source(fn), language="python")


def link_to(page, label: str) -> None:
    """A link to another page of the app (a plain link when the page runs on its own)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page.path, label=label, icon=page.icon)
    except StreamlitAPIException:  # not under st.navigation, e.g. the page file run alone
        st.markdown(f"[{label}](/{page.url_path})")


def show_figure(fig, key: str | None = None) -> None:
    """A plotly figure at full width, without the toolbar (less clutter on a projector)."""
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False}, key=key)


def share_link(lazy: bool = False) -> None:
    """A popover with this page's address and every setting in it; st.code has a copy button.

    Call it at the end of a page run, when every widget has written itself to the URL. `lazy`:
    the popover's content is drawn only when opened (opening reruns the page).
    """
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(st.context.url or "")
    pairs = [
        (k, v)
        for k in st.query_params
        for v in st.query_params.get_all(k)
        if k not in (HIDE_PARAM, "quiz")
    ]
    url = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path or "/"
    names = st.session_state.get(_NAMES) or {}
    if lazy:  # drawn when opened (opening reruns the page): never stale after a fragment's run
        box = st.popover("Copy link", icon=":material/link:", key="link_open", on_change="rerun")
        if not box.open:
            return
    else:
        box = st.popover("Copy link", icon=":material/link:")
    with box:
        st.caption(
            "This address reopens the page with exactly these settings: paste it into "
            "slides, a chat or a worksheet."
        )
        if names:  # a lesson link: some controls fixed, or questions
            hide = st.multiselect(
                "For a lesson: hide these controls (shown as fixed)",
                list(names),
                default=[k for k in hidden_keys() if k in names],
                format_func=lambda k: f"{names[k]} ({k})",
                key="share_hide",
            )
            if hide:
                pairs.append((HIDE_PARAM, ",".join(hide)))
            if st.toggle(
                "Open with questions (quiz=1)", "quiz" in st.query_params, key="share_quiz"
            ):
                pairs.append(("quiz", "1"))
        query = urlencode(pairs, safe=",")
        st.code(url + (f"?{query}" if query else ""), language=None, wrap_lines=True)


def edited_array(base: np.ndarray, key: str) -> np.ndarray:
    """In a st.data_editor on_change callback: `base` with the cells the user changed (empty or
    non-finite entries are ignored, so a grid never holds NaN)."""
    out = np.array(base, dtype=np.float32)
    for row, cells in st.session_state[key].get("edited_rows", {}).items():
        for col, value in cells.items():
            if value is not None and np.isfinite(value):
                out[int(row), int(col)] = value
    return out


def see_also(*paths: str) -> None:
    """A row of links to related pages, at the foot of a page."""
    from cnnviz.ui.nav import page_at

    with st.container(horizontal=True):
        for path in paths:
            info = page_at(path)
            link_to(info, f"Next: {info.title}")


def grid_from_link(state_key: str, url_key: str, default: str, max_size: int, what: str):
    """A number grid kept as text: this session's, else the link's (`?url_key=`), else
    `default`. A link that cannot be read gives a note and the default, never an error."""
    from cnnviz.kernels import KernelError, format_kernel, parse_kernel

    text = st.session_state.get(state_key) or st.query_params.get(url_key) or default
    try:
        grid = parse_kernel(text, max_size=max_size)
    except KernelError as err:
        st.warning(
            f"The {what} in the link could not be read ({err}), so the default is shown.",
            icon=":material/link_off:",
        )
        grid = parse_kernel(default, max_size=max_size)
    st.session_state[state_key] = format_kernel(grid)
    return grid


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
