"""Suite-wide settings: hypothesis profiles chosen by the HYPOTHESIS_PROFILE env variable.

- ci (default): 50 examples per property, what `make test` and CI run, sized for the whole
  suite's time on a 2-core machine (the 30 files with properties: 47 core-s at 100 examples,
  37 at 50). Examples are not derandomized, so every run checks new cases against torch;
  `make test-deep` runs 5000.
- deep: 5000 examples, `make test-deep`, run by hand before a release.
- dev: 20 examples, for a quick loop: `HYPOTHESIS_PROFILE=dev .venv/bin/pytest -x`.

The repository root is importable through `pythonpath` in pyproject.toml.
"""

import atexit
import functools
import os
import pathlib
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

# Every new AppTest scans the metadata of every installed package for Streamlit components
# (about 0.1 s each; a run makes some 450 of them: about 45 s of CPU). The real server scans once,
# when it starts; the tests now do the same, once per test process (the installed packages do not
# change during a run). Same function, same result, computed once.
manifest_scanner.scan_component_manifests = functools.cache(
    manifest_scanner.scan_component_manifests
)

# The machine-wide training gate (slot and queue files) of this test process: its own folder, so
# tests never wait behind trainings of other test runs, other xdist workers or a class server on
# the same machine. Servers the browser tests start inherit it. A folder set by the user is kept;
# one inherited from pytest-xdist's controller is replaced.
_owner = os.environ.get("_CNNVIZ_TEST_STATE_PID")
if "CNNVIZ_STATE_DIR" not in os.environ or _owner not in (None, str(os.getpid())):
    os.environ["CNNVIZ_STATE_DIR"] = tempfile.mkdtemp(prefix="cnnviz-test-state-")
    os.environ["_CNNVIZ_TEST_STATE_PID"] = str(os.getpid())

# The built-in pre-trained nets (cnnviz.pretrained) of this test run: one empty cache folder for
# the whole run, made by the first process and inherited by pytest-xdist's workers and by the
# servers the browser tests start, so each net is trained once per run (its file lock keeps two
# workers from training it twice) and never read from a developer's ~/.cache. A folder set by the
# user is kept.
if "CNNVIZ_CACHE" not in os.environ:
    os.environ["CNNVIZ_CACHE"] = tempfile.mkdtemp(prefix="cnnviz-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CNNVIZ_CACHE"], ignore_errors=True)

settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def send_label():
    """`send_label(at, key, label)`: the selectbox `key` answers with `label` on the next run, as
    the browser does (it names the choice by its label), even a label no option has any more
    (AppTest's own set_value only sends labels of current options)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    def send(at: AppTest, key: str, label: str) -> AppTest:
        box = at.selectbox(key=key)
        state = WidgetState(id=box.id, string_value=label)
        box.__class__ = type("Answered", (type(box),), {"_widget_state": property(lambda _: state)})
        return at

    return send


@pytest.fixture
def open_page():
    """`open_page("pages/x.py", key=value, ...)`: run a page with those URL query params
    (AppTest), check it raised nothing, and return it."""
    root = pathlib.Path(__file__).resolve().parents[1]

    def run(path: str, **params):
        at = AppTest.from_file(str(root / path))
        for key, value in params.items():
            at.query_params[key] = value
        at.run(timeout=30)
        assert not at.exception, [e.message for e in at.exception]
        return at

    return run
