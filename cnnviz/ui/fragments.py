"""Rerun only what changed, compute shared things once: the Convolution page's glue.

`fragment` is st.fragment with its own error box (a fragment's own reruns run outside
run_safely). `shared` and `run` take results and encoded pictures from `cnnviz.memo.SHARED`,
keyed by the exact content they are made from (the picture's every byte and every setting): a
class asking the same question computes it once.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time

import numpy as np
import streamlit as st

from cnnviz import memo, playground
from cnnviz.ui.common import TIMING

log = logging.getLogger("cnnviz")


def run(image: np.ndarray, s: playground.Settings) -> playground.Result:
    """playground.run, shared by every user who asks with the same picture and settings."""
    return memo.SHARED.get(
        memo.digest("playground.run", image, s), lambda: playground.run(image, s)
    )


def shared(what: str, compute, *parts):
    """A picture (or anything) made from exactly these inputs, computed once server-wide."""
    return memo.SHARED.get(memo.digest(what, *parts), compute)


_depth = threading.local()  # fragments inside fragments: only the outermost is timed


def _fragment_run() -> bool:
    """Is this script run a fragment's own rerun (not the whole page)?"""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def fragment(fn):
    """st.fragment with its own error box: a fragment's own reruns run outside run_safely."""

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        started = time.perf_counter()
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            out = fn(*args, **kwargs)
            if TIMING and _depth.n == 1 and _fragment_run():  # full runs: run_safely times them
                where = os.path.basename(fn.__code__.co_filename)
                log.warning("timing %s %.1f ms", where, (time.perf_counter() - started) * 1e3)
            return out
        except Exception:  # noqa: BLE001 - a classroom server shows a sentence, not a traceback
            log.exception("fragment %s failed", fn.__name__)
            st.error(
                "Something went wrong while drawing this part. Your settings are kept: "
                "change one and try again, or reload the page.",
                icon=":material/warning:",
            )
        finally:
            _depth.n -= 1

    return st.fragment(guarded)
