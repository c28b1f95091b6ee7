"""benchmarks/load.py's simulated students against the real server: their changes are verified
on the page, and a student whose rerun changes nothing is caught, not timed as a fast answer.
(No Chromium here: the client speaks Streamlit's websocket protocol itself.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def load_module():
    spec = importlib.util.spec_from_file_location("cnnviz_load", ROOT / "benchmarks" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_smoke_students_verify_their_changes_and_catch_a_noop(server) -> None:
    load = load_module()
    pid = load.listener(urlsplit(server).port)
    assert pid is not None, "the test server's process was not found by its port"
    assert load.app_processes(pid) == 1  # one first visitor pair per app process: one here
    out = load.smoke(server, load.Server(pid))
    # two students opened Convolution, changed stride / padding / kernel and saw each take effect
    assert len(out["opens"]) == 2
    assert out["verified"] >= 2, out
    assert out["errors"] == [], out["errors"]
    assert out["media"] > 0  # the new maps were fetched from /media/
    # the student who sends the old value back: no interaction counted, each one flagged
    assert out["noop_verified"] == 0, out
    assert out["noop_errors"], out
    assert all("the page shows" in e and "expected" in e for e in out["noop_errors"]), out
