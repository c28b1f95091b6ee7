"""Who this session is, without a login: the student (an anonymous tag of their browser) and,
after a teacher link with the right key, the teacher.

The student is the browser: Streamlit writes its XSRF cookie `_streamlit_xsrf` once per browser
(enableXsrfProtection = true) and keeps the token inside it (a fresh random mask each time it is
written again, which cnnviz.runs.owner_tag removes). Only a hash of it is kept. Without the
cookie (AppTest, a proxy that strips cookies) the session gets a random tag of its own.

The teacher: `make class` sets CNNVIZ_TEACHER_KEY and prints `.../train?teacher=KEY`. A session
that opens such a link (any page: run_safely calls claim_teacher first) with the right key is the
teacher's until it ends; the key leaves the address at once, so "Copy link" never shares it. No key set (`make run`): there is no teacher.
"""

from __future__ import annotations

import hmac
import os
import secrets

import streamlit as st

XSRF_COOKIE = "_streamlit_xsrf"
TEACHER_PARAM = "teacher"  # ?teacher=KEY
TEACHER_ENV = "CNNVIZ_TEACHER_KEY"
OWNER_KEY = "_owner"  # session_state: this session's owner tag
TEACHER_KEY = "_teacher"  # session_state: True once a right teacher link was opened


def owner() -> str:
    """This browser's owner tag (16 hex digits), kept for the session."""
    tag = st.session_state.get(OWNER_KEY)
    if not tag:
        from cnnviz.runs import owner_tag

        cookie = st.context.cookies.get(XSRF_COOKIE)
        tag = owner_tag(cookie) if isinstance(cookie, str) and cookie else secrets.token_hex(8)
        st.session_state[OWNER_KEY] = tag
    return tag


def teacher_key() -> str | None:
    """The class's teacher key (env CNNVIZ_TEACHER_KEY), or None: no teacher on this server."""
    return os.environ.get(TEACHER_ENV) or None


def is_teacher() -> bool:
    return bool(st.session_state.get(TEACHER_KEY)) and teacher_key() is not None


def claim_teacher() -> None:
    """Before the page draws: a `?teacher=KEY` in the address is taken out of it at once and, when
    the key is this server's, makes this session the teacher's; a wrong one is refused in a
    sentence."""
    if TEACHER_PARAM not in st.query_params:
        return
    given = st.query_params.get(TEACHER_PARAM) or ""
    del st.query_params[TEACHER_PARAM]
    key = teacher_key()
    if key is None:
        st.warning(
            "This server has no teacher key (a class server started with `make class` has "
            "one), so this link cannot make you the teacher.",
            icon=":material/key_off:",
        )
    elif hmac.compare_digest(given.encode(), key.encode()):
        st.session_state[TEACHER_KEY] = True
        st.success(
            "You are the teacher in this tab: you see every saved run and can publish one to "
            "the class (in **Model files**).",
            icon=":material/school:",
        )
    else:
        st.error(
            "This teacher link's key is wrong, so you stay a student: copy the teacher link "
            "`make class` printed again.",
            icon=":material/key_off:",
        )
