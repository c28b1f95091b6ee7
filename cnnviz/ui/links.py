"""What the page's address holds: values of the opened link that could not be used (one note
mechanism for the whole app), controls a lesson link hides (`?hide=`), and the link to share.

Notes: `run_safely` opens a run with `begin_run()`; Streamlit's own fallbacks (a value the widget
refused) are found after the run, and a page's own explanations are added with `note(text)`; all
are drawn together at the top of the page by `show_notes`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import streamlit as st

T = TypeVar("T")
_NOTES = "cnnviz_link_notes"  # session_state: this run's own link notes (None between runs)


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


def shown(key: str, raw: str) -> str:
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
            dropped.append(shown(key, raws[-1] if raws else ""))
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


@contextlib.contextmanager
def offstage(hidden: bool = True) -> Iterator[None]:
    """What is drawn in the block runs as usual (its widgets read and keep their values) and,
    when `hidden`, leaves the page at the block's end: the browser does not keep it."""
    if not hidden:
        yield
        return
    slot = st.empty()
    with slot.container():
        yield
    slot.empty()


def hideable(key: str, name: str, draw: Callable[[], T], fmt: Callable | None = None) -> T:
    """`draw()` (the widgets of one control, the first keyed `key`), or, when the link hides
    `key` (`?hide=key`), the same widgets drawn and at once taken off the page: they still read
    and keep the link's value (Streamlit's own parsing, so `s=999` is still refused with a
    note), the student cannot change it, and the page says what the lesson fixed."""
    st.session_state.setdefault(_NAMES, {})[key] = name
    if key not in hidden_keys():
        return draw()
    with offstage():
        value = draw()
    st.session_state.setdefault(_FIXED, {})[key] = f"{name} {describe_value(value, fmt)}"
    return value


def fixed_note() -> str | None:
    """ "Fixed by this lesson: stride 2, padding 1." for the controls hidden in this run."""
    fixed = st.session_state.get(_FIXED) or {}
    return f"Fixed by this lesson: {', '.join(fixed.values())}." if fixed else None


def begin_run() -> None:
    """A page run starts: no hidden controls, hideable names or own notes yet."""
    st.session_state[_FIXED] = {}
    st.session_state[_NAMES] = {}
    st.session_state[_NOTES] = []


def note(text: str) -> None:
    """A value of the link (or a grid's text bound to it) the page could not use, in the page's
    own words; drawn with the other link notes at the top of the page. Outside a whole-page run
    (a fragment's rerun) it is drawn where it is."""
    notes = st.session_state.get(_NOTES)
    if notes is None:
        st.warning(text, icon=":material/link_off:")
    else:
        notes.append(text)


def number_notes(raw: dict[str, str | None]) -> None:
    """A note for each number the link gave (`raw`: key -> its text, read before the widgets)
    that was not used: Streamlit fell back to the default, or kept the value inside its range."""
    for key, text in raw.items():
        if text is None or key not in st.session_state:
            continue
        value = st.session_state[key]
        if text.strip() != str(value):
            note(f"The link's {key}={text!r} is not a valid value here; using {value}.")


def choice_notes(options: dict[str, Iterable[str]]) -> None:
    """A note for each choice in the link that is not one of its options (the default is used)."""
    for key, allowed in options.items():
        allowed = tuple(allowed)
        text = st.query_params.get(key)
        if text is not None and text not in allowed:
            note(
                f"The link's {key}={text!r} is not one of {', '.join(allowed)}; using the default."
            )


def show_notes(
    slot,
    initial: dict[str, list[str]],
    removed: dict[str, str],
    labels: dict[str, Callable],
    own: tuple[str, ...],
) -> None:
    """After a run, in `slot`: one warning naming the link's values that could not be used
    (`removed` before the run, or refused by their widget; keys in `own` the page explains
    itself), then the page's own notes."""
    compared = {k: v for k, v in initial.items() if k not in removed and k not in own}
    dropped = [shown(k, v) for k, v in removed.items()]
    dropped += note_unusable_link_values(compared, labels)
    notes = st.session_state.get(_NOTES) or []
    st.session_state[_NOTES] = None
    if not dropped and not notes:
        return
    with slot.container():
        if dropped:
            st.warning(
                "Some settings in this link could not be used, so the defaults are shown for "
                f"them: {', '.join(dropped)}.",
                icon=":material/link_off:",
            )
        for text in notes:
            st.warning(text, icon=":material/link_off:")


def from_root(relative: str, root_url: str | None = None) -> str:
    """A link relative to the app's root ("/output_size?k=3") as a full address to paste
    elsewhere. `root_url`: the app's address with any base path; by default the running page's,
    so call it on the root page (Home). As given where the address is unknown (AppTest)."""
    from urllib.parse import urljoin, urlsplit

    parts = urlsplit((st.context.url or "") if root_url is None else root_url)
    if not parts.netloc:
        return relative
    root = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urljoin(f"{parts.scheme}://{parts.netloc}{root}", relative.lstrip("/"))


def copy_link_box(key: str):
    """The "Copy link" popover, drawn only once opened (opening reruns the page): the popover to
    write into, or None while it is closed (no code block on the page until asked)."""
    box = st.popover("Copy link", icon=":material/link:", key=key, on_change="rerun")
    return box if box.open else None


def share_link() -> None:
    """A popover with this page's address and every setting in it; st.code has a copy button.

    Call it at the end of a page run, when every widget has written itself to the URL. The
    popover's content is drawn only when opened (opening reruns the page): never stale after a
    fragment's run, and no code block on the page until asked (see ui/common.py).
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
    box = copy_link_box("link_open")
    if box is None:
        return
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
