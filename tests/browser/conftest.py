"""Browser fixtures: the real app (`streamlit run app.py`) driven by Debian's headless Chromium.

Playwright's own browser download is never used: we launch /usr/bin/chromium (override with
CNNVIZ_CHROMIUM). A missing browser fails the tests with a fix to apply; it never skips them.
For a quick local loop without a browser, CNNVIZ_SKIP_BROWSER=1 skips them (refused when CI=true).

Fixtures: `server` (base URL, one per session; `server_runs` its runs folder, `teacher_key` its
teacher key), `browser` (one per session), `page` (a fresh context and tab per test, 1400x900),
`page_log` (that tab's console errors and blocked external requests), `fresh_server` (starts a new server for one test), `wait_idle` (a function:
`wait_idle(page)` waits for the script run to finish rendering and returns the unexpected console
errors so far), `artifacts` (the test-artifacts/ folder). A failed test leaves a screenshot in
test-artifacts/ and prints the log of each server it used.
(Helpers are fixtures because tests/ is not a package: test modules can't import this file.)
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CNNVIZ_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, and
# this machine's closed network refuses those connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host but this machine's fails to resolve: nothing a page asks for can leave the
    # machine. (Cheaper than routing every request through Playwright: that costs each of the
    # page's ~60 requests a round trip to the test process.)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
VIEWPORT = {"width": 1400, "height": 900}
STARTUP_TIMEOUT = 60  # seconds for the server to answer /_stcore/health
IDLE_TIMEOUT = 30_000  # milliseconds for a script run to finish rendering
# How often a wait re-checks the page. Playwright's default ("raf") asks Chromium for a new frame
# 60 times a second while waiting, and drawing those frames costs CPU the other test workers need.
POLL_MS = 50

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

_LOG_KEY = pytest.StashKey[Path]()  # the session server's log
_ITEM_LOGS_KEY = pytest.StashKey[list]()  # logs of the fresh servers one test started
_REPORTS_KEY = pytest.StashKey[dict]()
_RUNS_KEY = pytest.StashKey[Path]()  # the session server's runs folder
TEACHER_KEY = "browser-test-teacher-key"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser/ as `browser` (select with -m browser / -m 'not browser')."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    item.stash.setdefault(_REPORTS_KEY, {})[report.when] = report
    if report.failed:
        # The logs of the servers this test used: its own fresh ones, or the session's.
        logs = list(item.stash.get(_ITEM_LOGS_KEY, []))
        session_log = item.config.stash.get(_LOG_KEY, None)
        if "server" in getattr(item, "fixturenames", ()) and session_log is not None:
            logs.insert(0, session_log)
        for log in logs:
            if log.exists():
                report.sections.append((f"streamlit server log {log.name}", _tail(log)))
    return report


def _tail(path: Path, limit: int = 20_000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    return text if len(text) <= limit else "...\n" + text[-limit:]


def _check_opt_out() -> None:
    if os.environ.get("CNNVIZ_SKIP_BROWSER") == "1":
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "CNNVIZ_SKIP_BROWSER=1 is refused under CI=true: CI runs the browser tests."
            )
        pytest.skip("CNNVIZ_SKIP_BROWSER=1: browser tests skipped on request")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def server(pytestconfig: pytest.Config) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, one for the session; yields its base URL.
    Its finished trainings go to its own runs folder (`server_runs`) and it has a teacher key
    (`TEACHER_KEY`: a page shows nothing of it unless opened with `?teacher=KEY`)."""
    _check_opt_out()
    runs = pytestconfig.stash[_RUNS_KEY] = Path(tempfile.mkdtemp(prefix="cnnviz-test-runs-"))
    env = {"CNNVIZ_RUNS": str(runs), "CNNVIZ_TEACHER_KEY": TEACHER_KEY}
    with _serve(lambda log: pytestconfig.stash.__setitem__(_LOG_KEY, log), env) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def server_runs(server: str, pytestconfig: pytest.Config) -> Path:
    """The session server's runs folder: a run saved there is listed on its Model files step."""
    return pytestconfig.stash[_RUNS_KEY]


@pytest.fixture
def teacher_key() -> str:
    """The session server's teacher key (`?teacher=` + it makes a tab the teacher's)."""
    return TEACHER_KEY


@pytest.fixture
def fresh_server(request: pytest.FixtureRequest):
    """A function that starts a new server (a context manager yielding its base URL): for what a
    server does only on its very first request."""
    _check_opt_out()
    logs = request.node.stash.setdefault(_ITEM_LOGS_KEY, [])
    return lambda: _serve(logs.append)


@pytest.fixture(autouse=True)
def _no_hidden_page_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which a server it used logged "page failed": run_safely turns a page's
    crash into a polite box, which a test that reads other text would never notice."""
    uses_server = "server" in request.fixturenames
    session_log = request.config.stash.get(_LOG_KEY, None) if uses_server else None
    start = session_log.stat().st_size if session_log is not None and session_log.exists() else 0
    yield
    # the first test of a session starts the server after this fixture's setup: look again
    session_log = request.config.stash.get(_LOG_KEY, None) if uses_server else None
    texts = []
    if session_log is not None and session_log.exists():
        with open(session_log, "rb") as f:
            f.seek(start)
            texts.append(f.read().decode("utf-8", "replace"))
    texts += [
        p.read_text("utf-8", "replace")
        for p in request.node.stash.get(_ITEM_LOGS_KEY, [])
        if p.exists()
    ]
    failures = [t[t.index("page failed") :][:3000] for t in texts if "page failed" in t]
    if failures:
        pytest.fail(
            "a page crashed during this test (the user saw the apology box):\n" + failures[0],
            pytrace=False,
        )


@contextlib.contextmanager
def _serve(register_log, env: dict[str, str] | None = None) -> Iterator[str]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkstemp(prefix="cnnviz-server-", suffix=".log")[1])
    register_log(log_path)
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    # finished trainings are saved here, not in the checkout's runs/ (a test's runs list then
    # holds only what the tests made); a folder a test sets (monkeypatch) is kept
    env.setdefault("CNNVIZ_RUNS", tempfile.mkdtemp(prefix="cnnviz-test-runs-"))
    # one training at a time (the default on 2 cores, set for any machine): a second student's
    # training waits in the queue, which tests/browser/test_train.py checks on the session
    # server (the gate is this test process's own: tests/conftest.py)
    env.setdefault("CNNVIZ_MAX_TRAININGS", "1")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: we end it and its children
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(base_url):
            if proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with code {proc.returncode} before it was healthy:\n"
                    + _tail(log_path),
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer {base_url}/_stcore/health within "
                    f"{STARTUP_TIMEOUT} s:\n" + _tail(log_path),
                    pytrace=False,
                )
            time.sleep(0.25)
        yield base_url
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright's sync API (no browser download)."""
    _check_opt_out()
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. The browser tests need Debian's chromium: "
            "run `sudo apt-get install -y chromium` (.ci/run does this), or point "
            "CNNVIZ_CHROMIUM at a Chromium binary. They never download a browser.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class PageLog:
    """What a page did that a test may want to assert on."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []


_PAGE_LOG_KEY = pytest.StashKey[PageLog]()


class _WorkerTab:
    """One browser context and one tab per test process, reused by test after test.

    A new context costs Chromium about 3 s of CPU more than loading a page in a tab it already
    has (a new renderer process, the app's scripts fetched and compiled again), measured: about
    4.7 s per page load in a new context, 1.6 s with `goto` in the same tab. The browser tests
    are CPU-bound on two cores, so they share one tab; what a test could leave behind is reset
    between tests (the page is left for about:blank, which ends its Streamlit session; cookies,
    storage and the window size are reset) and a test that fails gets a new context after it.
    Tests that need a second browser (two students, cookies of their own) still open contexts.
    """

    def __init__(self, browser) -> None:
        self.browser = browser
        self.context = None
        self.tab = None
        self.log = PageLog()

    def get(self):
        if self.context is None:
            self.context = self.browser.new_context(viewport=VIEWPORT)
        if self.tab is None or self.tab.is_closed():
            self.tab = self.context.new_page()
            self._listen(self.tab)
        return self.tab

    def _listen(self, tab) -> None:
        def on_console(msg) -> None:
            if msg.type == "error":
                where = msg.location.get("url", "") if msg.location else ""
                self.log.console_errors.append(f"{msg.text} [{where}]" if where else msg.text)

        def on_request(request) -> None:  # such a request fails (--host-resolver-rules)
            host = urlsplit(request.url).hostname or ""
            if (
                request.url.startswith(("http:", "https:", "ws:", "wss:"))
                and host not in LOCAL_HOSTS
            ):
                self.log.external_requests.append(request.url)

        tab.on("console", on_console)
        tab.on("pageerror", lambda exc: self.log.console_errors.append(f"uncaught: {exc}"))
        tab.on("request", on_request)
        tab.on("websocket", lambda ws: on_request(ws))

    def reset(self) -> None:
        """Leave the page and forget what the test made; on any trouble, start afresh."""
        try:
            if self.tab is not None and not self.tab.is_closed():
                if self.tab.url.startswith("http"):
                    self.tab.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
                self.tab.goto("about:blank")
            for other in self.context.pages if self.context else []:
                if other is not self.tab:
                    other.close()
            if self.context is not None:
                self.context.clear_cookies()
                self.context.clear_permissions()
            if self.tab is not None and not self.tab.is_closed():
                self.tab.set_viewport_size(VIEWPORT)
        except Exception:  # a tab left in a state it cannot leave: a new context next time
            self.close()

    def close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.close()
        self.context = self.tab = None


@pytest.fixture(scope="session")
def _worker_tab(browser) -> Iterator[_WorkerTab]:
    shared = _WorkerTab(browser)
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def page(_worker_tab: _WorkerTab, request: pytest.FixtureRequest) -> Iterator[object]:
    """The test process's browser tab (see _WorkerTab), at 1400x900 with nothing of the test
    before it. Requests that would leave the machine fail (no host but this one resolves) and
    are recorded (see `page_log.external_requests`)."""
    tab = _worker_tab.get()
    _worker_tab.log = request.node.stash[_PAGE_LOG_KEY] = PageLog()
    try:
        yield tab
    finally:
        reports = request.node.stash.get(_REPORTS_KEY, {})
        if any(r.failed for r in reports.values()):
            ARTIFACTS.mkdir(exist_ok=True)
            name = "FAILED-" + "".join(c if c.isalnum() else "_" for c in request.node.name)
            try:
                tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception as exc:  # the page may be gone; the failure matters more
                print(f"could not save a screenshot: {exc}")
            _worker_tab.close()
        else:
            _worker_tab.reset()


@pytest.fixture
def page_log(page, request: pytest.FixtureRequest) -> PageLog:
    """Console errors and blocked off-machine requests of this test's `page`."""
    return request.node.stash[_PAGE_LOG_KEY]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ (gitignored): screenshots for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


_IDLE_JS = """
() => {
  const app = document.querySelector("[data-testid='stApp']");
  return app !== null
    && app.getAttribute("data-test-script-state") === "notRunning"
    && document.querySelector("[data-testid='stMain'] [data-testid='stElementContainer']") !== null
    && document.querySelector("[data-testid='stElementContainer'][data-stale='true']") === null;
}
"""


def _wait_idle(page, log: PageLog, timeout: float = IDLE_TIMEOUT) -> list[str]:
    """Wait until the script run is over and its output is on screen (no stale elements);
    return the console errors seen so far on this page.

    Right after a click the previous run's state can still read 'notRunning': wait first for
    something the click changes (URL, a heading), then call this.
    """
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )
    page.wait_for_function(_IDLE_JS, timeout=timeout, polling=POLL_MS)
    return [e for e in log.console_errors if not _BENIGN.search(e)]


# Console errors Streamlit's frontend makes by design: on a deep link (/output_size) it first
# probes /output_size/_stcore/{health,host-config} for a base path and gets 404s; and resource
# loads that the test itself blocked (recorded separately in page_log.external_requests).
_BENIGN = re.compile(
    r"Failed to load resource: the server responded with a status of 404 .*"
    r"/_stcore/(health|host-config)\]$"
    r"|Failed to load resource: net::ERR_(FAILED|NAME_NOT_RESOLVED) \[https?://(?!127\.0\.0\.1|localhost)"
)


@pytest.fixture
def wait_idle(page_log: PageLog):
    """`wait_idle(page)`: see _wait_idle."""
    return lambda page, timeout=IDLE_TIMEOUT: _wait_idle(page, page_log, timeout)


# Rendered: the run is over, no element is stale, no lazily loaded widget is still a skeleton,
# every chart has drawn itself (their code chunks load after the run) and every picture loaded.
_SETTLED_JS = """
() => {
  const app = document.querySelector("[data-testid='stApp']");
  const drawn = (sel, inner) => [...document.querySelectorAll(sel)].every(e => e.querySelector(inner));
  return app !== null && app.getAttribute("data-test-script-state") === "notRunning"
    && document.querySelector("[data-testid='stMain'] h1") !== null
    && document.querySelector("[data-stale='true']") === null
    && document.querySelector("[data-testid='stSkeleton']") === null
    && drawn("[data-testid='stPlotlyChart']", ".main-svg")
    && drawn("[data-testid='stVegaLiteChart']", "canvas, svg")
    && [...document.images].every(i => i.complete);
}
"""
_CLIPPING_JS = (Path(__file__).parent / "clipping.js").read_text(encoding="utf-8")
_SHOTS = ROOT / "docs" / "screenshots"
WRITE_SHOTS = os.environ.get("CNNVIZ_SCREENSHOTS") == "1"


def _settle(tab, timeout: float = 60_000) -> None:
    tab.wait_for_function(_SETTLED_JS, timeout=timeout, polling=POLL_MS)
    tab.wait_for_timeout(250)  # a chart's second layout pass, once it knows its width
    tab.wait_for_function(_SETTLED_JS, timeout=timeout, polling=POLL_MS)


@pytest.fixture
def settle():
    """`settle(tab)`: wait until the page is drawn to the last chart and picture."""
    return _settle


def _cut(tab) -> str:
    found = tab.evaluate(_CLIPPING_JS)
    return "\n".join(f"{p['what']} {p['text']!r}: {p['why']}" for p in found)


@pytest.fixture
def cut_text():
    """`cut_text(tab)`: what a viewer cannot read in the main area (clipping.js), one line per
    problem; empty when everything fits."""
    return _cut


def _readme_shot(tab, name: str) -> None:
    if not WRITE_SHOTS:
        return
    from PIL import Image

    _SHOTS.mkdir(parents=True, exist_ok=True)
    img = Image.open(io.BytesIO(tab.screenshot())).convert("RGB")
    img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
        _SHOTS / f"{name}.png", optimize=True
    )


@pytest.fixture
def readme_shot():
    """`readme_shot(tab, name)`: with CNNVIZ_SCREENSHOTS=1 (`make screenshots`), the screen as a
    palette PNG (a few tens of KB) in docs/screenshots/ for the README; else nothing."""
    return _readme_shot
