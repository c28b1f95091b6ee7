"""Hostile links on every page: no exception, no apology box, and a note naming what was dropped.

A link is typed, pasted and mangled by people (a teacher's slides, a chat, a student poking at
the address bar). For every page of cnnviz/ui/nav.py's PAGES and every query parameter it reads
(its URL-bound widgets, found by running the page in each of its modes, plus the parameters the
page parses itself), hostile values (empty, inf, nan, 1e400, 400 nines, negative, huge, unicode,
very long, repeated) must never break the page: it falls back to the defaults and says which
settings of the link it could not use. Example counts stay modest: each example is a page run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from cnnviz.playground import CHANNEL_MODES
from cnnviz.ui.links import link_values_mean, unusable_link_value
from cnnviz.ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[2]
APOLOGY = "Something went wrong"
NOTE = "could not be used"

# Links that put each page in each of its modes, so every bound widget shows up somewhere.
# (Values as the app writes them: a choice's label.)
MODES: dict[str, list[dict[str, str]]] = {
    "pages/convolution.py": [
        {},
        {"cmp": "true", "pool": "Average", "ch": CHANNEL_MODES["depthwise"], "kernel": "random"},
        {"ch": CHANNEL_MODES["rgb"], "kernel": "my own", "src": "Upload"},
    ],
    "pages/pooling.py": [{}, {"src": "Upload"}],
    "pages/step_by_step.py": [
        {},
        {"mode": "Max pool"},
        {"mode": "Average pool"},
        {"mode": "Transposed conv"},
    ],
    "pages/output_size.py": [
        {},
        {"op": "Pooling", "square": "false"},
        {"op": "Transposed", "square": "false"},
    ],
    "pages/train.py": [{}, {"data_src": "Pictures"}],
}
# Parameters pages read themselves, not through a bound widget.
PARSED: dict[str, tuple[str, ...]] = {
    "pages/convolution.py": ("img", "kt", "cell"),
    "pages/pooling.py": ("img", "grid"),
    "pages/train.py": ("arch",),
    "pages/step_by_step.py": ("x1", "x2", "k1", "k2"),
    "pages/explore.py": ("unit",),
}
# Page-specific sentences for a link value the page explains itself (besides `key=`).
OWN_NOTES = ("could not be read",)


def run(path: str, params: dict[str, str | list[str]], timeout: float = 60) -> AppTest:
    at = AppTest.from_file(str(ROOT / path))
    for key, value in params.items():
        at.query_params[key] = value
    at.run(timeout=timeout)
    return at


def notes(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


def assert_fine(at: AppTest, where) -> None:
    """No exception reached the page, and no apology box was drawn."""
    assert not at.exception, (where, [e.message for e in at.exception])
    apologies = [e.value for e in at.error if APOLOGY in e.value]
    assert not apologies, (where, apologies)


@functools.cache
def mode_defaults(path: str, mode: int) -> dict[str, object]:
    """The page opened in one of its MODES: each bound widget's key -> its value there."""
    params = MODES.get(path, [{}])[mode]
    at = run(path, params, timeout=120)
    assert_fine(at, (path, params))
    assert NOTE not in notes(at), (path, params, notes(at))  # the modes are valid links
    with at._session_state.query_params() as qp:  # Streamlit keeps no public list of them
        bound = set(qp._bindings_by_param)
    return {k: at.session_state[k] for k in bound if k in at.session_state and k not in params}


@functools.cache
def page_keys(path: str) -> tuple[str, ...]:
    """Every query parameter the page reads: its bound widgets in each mode, and PARSED."""
    keys: set[str] = set(PARSED.get(path, ()))
    for mode in range(len(MODES.get(path, [{}]))):
        keys |= set(mode_defaults(path, mode))
    return tuple(sorted(keys))


PAGE_PATHS = [p.path for p in PAGES]


# ------------------------------------------------------------------ the links found by fuzzing


@pytest.mark.parametrize(
    "path, key, value",
    [
        ("pages/output_size.py", "s", "inf"),
        ("pages/step_by_step.py", "s", "1e400"),
        ("pages/step_by_step.py", "p", "9" * 400),
        ("pages/train.py", "opt", ""),
    ],
)
def test_reported_links_fall_back_with_a_note(path, key, value):
    at = run(path, {key: value})
    assert_fine(at, (path, key))
    shown = value if len(value) <= 40 else value[:37] + "..."
    assert f"{key}={shown}" in notes(at) and NOTE in notes(at)
    assert key not in at.query_params  # gone from the address bar too
    at.run()  # and the next rerun is fine as well (it used to fail on every rerun)
    assert_fine(at, (path, key, "rerun"))


def test_a_value_written_as_the_default_label_is_no_surprise():
    """Streamlit removes a default from the URL; a link that spells it out is not 'unusable'."""
    at = run("pages/output_size.py", {"op": "Convolution", "pad_kind": "number", "s": "1"})
    assert_fine(at, "defaults")
    assert NOTE not in notes(at), notes(at)
    at = run("pages/train.py", {"data_src": "Built-in", "opt": "Adam", "lr": "0.001"})
    assert_fine(at, "defaults")
    assert NOTE not in notes(at), notes(at)


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_lists_what_it_reads(path):
    """The discovery the fuzzing relies on: every page reads some parameters, in valid modes."""
    assert page_keys(path)


# --------------------------------------------------------------------------------- the fuzzing

NINES = "9" * 400
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "inf",
        "-inf",
        "Infinity",
        "nan",
        "NaN",
        "1e400",
        "-1e400",
        NINES,
        "-" + NINES,
        "-1",
        "-7",
        "-0.5",
        "1e30",
        str(2**64),
        str(-(2**63)),
        "0x10",
        "1_000",
        "true",
        " ",
        "٣",
        "é",
        "😀",
        "∞",
        "\u202e1",
        "null",
        "None",
        "[]",
        "a;b",
        "%00",
        "x" * 5000,
    ]
)
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.text(max_size=12),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(HOSTILE_TEXT, min_size=2, max_size=3),  # ?k=a&k=b
)


# Each example is a page run (0.5-3 s): a few in `make test`, many in `make test-deep`.
EXAMPLES = 5 if settings.default.max_examples <= 300 else 100


def dropped_keys(params: dict, at: AppTest) -> list[str]:
    """Keys of the link that the page did not keep (gone from the URL, or changed)."""
    return [k for k, v in params.items() if at.query_params.get(k) != v]


@pytest.mark.parametrize("path", PAGE_PATHS)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_link_values_never_break_a_page(path, data):
    keys = page_keys(path)
    mode = data.draw(st.sampled_from(range(len(MODES.get(path, [{}])))), label="mode")
    base = MODES.get(path, [{}])[mode]
    defaults = mode_defaults(path, mode)
    chosen = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True))
    params = dict(base)
    params.update({k: data.draw(HOSTILE, label=k) for k in chosen})
    at = run(path, params)
    assert_fine(at, params)
    said = notes(at)
    for key in dropped_keys({k: params[k] for k in chosen}, at):
        if key in at.query_params:
            continue  # kept, corrected into range (e.g. clamped): nothing was dropped
        value = params[key]
        values = value if isinstance(value, list) else [value]
        if key in defaults and link_values_mean(values, defaults[key]):
            continue  # the default written out (e.g. p=0): Streamlit drops it from the URL
        if key in PARSED.get(path, ()):
            # the page reads it itself and says so in its own words (or ignores it where it
            # does not apply, e.g. a picture's link while a sample is shown); values nothing
            # could use are named in the note like any other
            if any(unusable_link_value(v) for v in values):
                assert f"{key}=" in said, (key, value, said)
            continue
        assert f"{key}=" in said or any(n in said for n in OWN_NOTES), (key, value, said)


@pytest.mark.parametrize("path", PAGE_PATHS)
@pytest.mark.parametrize("value", ["", "nan", "-" + NINES])  # inf, 1e400: above and below
def test_every_key_at_once(path, value):
    """Every parameter the page reads set to one hostile value: defaults, one note."""
    params = dict.fromkeys(page_keys(path), value)
    at = run(path, params)
    assert_fine(at, (path, value))
    assert NOTE in notes(at), (path, value)
    kept = {k: v for k, v in at.query_params.items() if params.get(k) == v}
    assert not kept, kept  # none stays in the address bar (a page may write its own default)
