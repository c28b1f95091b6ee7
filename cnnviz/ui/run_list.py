"""The runs saved on this server that this session may open: a student's own runs and the class
runs (published by the teacher, or saved before runs had owners); the teacher sees every run,
who trained it (a short anonymous tag) and publishes or unpublishes it."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from cnnviz.ui.who import is_teacher, owner

CACHE_KEY = "_runs_cache"  # session_state: (folder, its time) -> the runs listed then


def _list_runs():
    """The runs/ folder's runs, read again only when the folder changed (a new run, a removed
    one, or a publish: cnnviz.runs.publish touches the folder)."""
    from cnnviz import runs

    root = runs.runs_dir()
    try:
        stamp = (str(root), root.stat().st_mtime_ns)
    except OSError:
        return []
    got = st.session_state.get(CACHE_KEY)
    if got is None or got[0] != stamp:
        got = st.session_state[CACHE_KEY] = (stamp, runs.list_runs(root))
    return got[1]


def run_label(r, me: str, teacher: bool) -> str:
    """A saved run in one line: what it is (cnnviz.runs.run_title), and whose. A student reads
    "Class · ..." on runs not their own; the teacher reads the trainer's tag and "published"."""
    if not teacher:
        return r.name if r.owner == me else f"Class · {r.name}"
    who = "you" if r.owner == me else (f"student {r.owner[:6]}" if r.owner else "no owner")
    return f"{r.name} · {who}" + (" · published" if r.published else "")


def _publish(path: str, on: bool) -> None:
    from cnnviz import runs

    try:
        runs.publish(path, on)
    except (OSError, ValueError) as err:
        st.session_state["_publish_error"] = str(err)


def runs_list(open_run: Callable[[object, dict, str, str], None]) -> None:
    """The runs this session may see, one to open (`open_run(model, meta, label, folder)`);
    the teacher's Publish / Unpublish for the one chosen."""
    from cnnviz import runs

    try:
        every = _list_runs()
    except (OSError, ValueError) as err:
        st.caption(f"The saved runs cannot be listed: {err}")
        return
    me, teacher = owner(), is_teacher()
    if teacher:
        shown = every
        st.caption(
            f"Teacher: all {len(every)} runs on this server. Publish one to put it on every "
            "student's list."
        )
    else:
        mine, shared = runs.student_and_class(every, me)
        shown = mine + shared
        if shown:
            st.caption(
                f"Your runs: {len(mine)} · class runs: {len(shared)} (shared by the teacher). "
                "Other students' runs stay theirs."
            )
    if not shown:
        st.caption(
            "No saved runs yet: a finished training is saved here automatically (only you see "
            "it unless the teacher publishes it), and `python -m cnnviz train ...` saves one "
            "from the command line."
        )
        return
    by_path = {str(r.path): r for r in shown}
    labels = {p: run_label(r, me, teacher) for p, r in by_path.items()}
    choice = st.selectbox("Saved runs", list(labels), format_func=labels.get, key="run_choice")
    if choice not in by_path:  # the list changed under a stale choice
        return
    if teacher:
        on = not by_path[choice].published
        st.button(
            "Publish to the class" if on else "Unpublish",
            key="publish_run",
            on_click=_publish,
            args=(choice, on),
            icon=":material/group:" if on else ":material/group_off:",
        )
        if err := st.session_state.pop("_publish_error", None):
            st.error(err, icon=":material/block:")
    if st.button("Open this run", key="open_run", icon=":material/folder_open:"):
        try:
            model, meta = runs.load_run(choice)
        except ValueError as err:
            st.error(str(err), icon=":material/block:")
            return
        open_run(model, meta, labels[choice], choice)
