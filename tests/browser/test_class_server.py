"""`make class` for real: its launcher (2 app processes behind HAProxy on a free port) and two
students in two independent headless Chromium contexts, through the proxy only.

What must hold for a class: the proxy answers /_stcore/health; each browser gets its own sticky
cookie (SRV=app1/app2) and the two can land on different processes; a slider change reruns the
page (the websocket goes through the proxy to the right process); an upload works and its
pictures (/media/) come from the process holding the session (the other one has never heard of
them); Ctrl+C leaves no process behind.
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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from cnnviz.runs import owner_tag

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "deploy" / "class_server.py"
READY = "Ctrl+C stops it."
START_TIMEOUT = 240  # two app processes starting together on a busy 2-core machine


@dataclass
class ClassServer:
    proc: subprocess.Popen
    log: Path
    url: str = ""
    apps: dict[str, str] = field(default_factory=dict)  # app1 -> 127.0.0.1:port
    pids: list[int] = field(default_factory=list)
    config: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes, list[str]]:
    """Status, body and Set-Cookie headers of a GET (errors are answers too)."""
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), r.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get_all("Set-Cookie") or []


def _require_haproxy() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("class_server", LAUNCHER)
    launcher = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = launcher
    spec.loader.exec_module(launcher)
    if launcher.find_haproxy() is None:
        pytest.fail(
            "HAProxy is not installed: run `sudo apt-get install haproxy` (make test does this). "
            "These tests never skip without it.",
            pytrace=False,
        )


@contextlib.contextmanager
def _launch(folder: Path) -> Iterator[ClassServer]:
    """The launcher as `make class WORKERS=2` runs it, on a free port; stopped at the end."""
    _require_haproxy()
    port = _free_port()
    log = folder / "launcher.log"
    env = {**os.environ, "WORKERS": "2", "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "--address", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ClassServer(proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in server.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the launcher did not get ready:\n{server.output()}", pytrace=False)
            time.sleep(0.5)
        text = server.output()
        server.url = re.search(r"class server on (http://\S+)", text).group(1)
        for name, addr, pid in re.findall(r"^(app\d+) on (\S+) \(pid (\d+)\)$", text, re.M):
            server.apps[name] = addr
            server.pids.append(int(pid))
        server.pids.append(int(re.search(r"^proxy pid (\d+)", text, re.M).group(1)))
        server.config = re.search(r"config (\S+)$", text, re.M).group(1)
        assert server.url == f"http://127.0.0.1:{port}"
        assert sorted(server.apps) == ["app1", "app2"]
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def class_server(browser, tmp_path_factory) -> Iterator[ClassServer]:
    """One class server for the module's browser tests. (Depends on `browser`: a missing
    Chromium or CNNVIZ_SKIP_BROWSER is handled there.)"""
    with _launch(tmp_path_factory.mktemp("class")) as server:
        yield server


def test_health_through_the_proxy_sets_the_sticky_cookie(class_server):
    status, body, cookies = _get(class_server.url + "/_stcore/health")
    assert (status, body.strip()) == (200, b"ok")
    srv = [c for c in cookies if c.startswith("SRV=")]
    assert len(srv) == 1 and re.match(r"SRV=app[12];", srv[0]), cookies
    assert "HttpOnly" in srv[0]
    # with a cookie, the browser keeps its process: no new cookie is set
    status, _, cookies = _get(class_server.url + "/_stcore/health", cookie="SRV=app2")
    assert status == 200 and not [c for c in cookies if c.startswith("SRV=")]


def _picture(path: Path, size: tuple[int, int]) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.full((*size, 3), 120, np.uint8)).save(buf, "PNG")
    path.write_bytes(buf.getvalue())


def _srv_cookie(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == "SRV"), None)


def _active_sessions(addr: str) -> int:
    """A backend's own count of connected browser sessions (asked directly, not via the proxy)."""
    _, body, _ = _get(f"http://{addr}/_stcore/metrics")
    m = re.search(rb"^active_sessions(?:\{[^}]*\})? (\d+)", body, re.M)
    return int(m.group(1)) if m else 0


def _open_student(browser, url: str, wait_idle, traffic: list):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.on("response", lambda r: traffic.append((r.url, r.status, r.request)))
    tab.goto(url + "/convolution?src=Upload")
    wait_idle(tab)
    return tab


def test_two_students_on_two_processes_rerun_upload_and_see_their_pictures(
    class_server, browser, wait_idle, tmp_path
):
    traffic: dict[str, list] = {"a": [], "b": []}
    tabs = {"a": _open_student(browser, class_server.url, wait_idle, traffic["a"])}
    first = _srv_cookie(tabs["a"].context)
    assert first in class_server.apps
    # a second student: fewest connections first, so another process (retry a few new browsers
    # in case a connection of the first one was still being counted)
    spare = []
    for _ in range(4):
        traffic["b"].clear()
        tab = _open_student(browser, class_server.url, wait_idle, traffic["b"])
        if _srv_cookie(tab.context) != first:
            tabs["b"] = tab
            break
        spare.append(tab)
    for tab in spare:
        tab.context.close()
    assert "b" in tabs, "every new browser landed on the same app process"
    where = {name: _srv_cookie(tab.context) for name, tab in tabs.items()}
    assert set(where.values()) == {"app1", "app2"}

    # each process holds the session of the browser its cookie names (its websocket came there)
    for name in tabs:
        assert _active_sessions(class_server.apps[where[name]]) >= 1

    # an upload through the proxy, then a slider change: each tab reruns with its own picture
    sizes = {"a": (40, 30), "b": (24, 64)}
    for name, tab in tabs.items():
        _picture(tmp_path / f"{name}.png", sizes[name])
        tab.locator(".st-key-upload input[type='file']").set_input_files(tmp_path / f"{name}.png")
    for name, tab in tabs.items():
        h, w = sizes[name]
        expect(tab.get_by_text(f"Working on {w} × {h} px.")).to_be_visible(timeout=30_000)
        wait_idle(tab)
    thumb = tabs["a"].locator(".st-key-s input[type='range']")
    thumb.press("ArrowRight")  # stride 1 -> 2
    expect(thumb).to_have_value("2")
    wait_idle(tabs["a"])
    main_a = tabs["a"].get_by_test_id("stMain")
    expect(main_a).to_contain_text("40 × 30 × 1 → conv → 19 × 14 × 1")
    expect(tabs["b"].get_by_test_id("stMain")).to_contain_text("24 × 64 × 1 → conv → 22 × 62 × 1")

    for name, tab in tabs.items():
        cookie = f"SRV={where[name]}"
        uploads = [t for t in traffic[name] if "/_stcore/upload_file/" in t[0]]
        media = [t for t in traffic[name] if urlsplit(t[0]).path.startswith("/media/")]
        assert uploads and media, f"no upload or media request seen in tab {name}"
        # every picture still on screen loaded (checked below); a picture a later rerun replaced
        # may be gone from its process before the browser asks for it (Streamlit drops a
        # session's old media on each rerun), so a 404 is allowed only for those
        shown_now = set(tab.evaluate("() => [...document.querySelectorAll('img')].map(i => i.src)"))
        for url, status, request in uploads + media:
            stale = status == 404 and "/media/" in url and url not in shown_now
            assert status in (200, 204) or stale, (url, status)
            sent = request.all_headers().get("cookie", "")  # .headers leaves cookies out
            assert cookie in sent, (url, sent)
        # every picture on the page loaded
        broken = tab.evaluate(
            "() => [...document.querySelectorAll('img')]"
            ".filter(i => i.src.includes('/media/') && !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src)"
        )
        assert broken == []
        # the pictures on screen that are this tab's only (not colour bars both processes drew)
        # live in its process only: asked of the other process, they are not there
        other = "app2" if where[name] == "app1" else "app1"
        theirs = {urlsplit(t[0]).path for n in tabs if n != name for t in traffic[n]}
        shown = tab.evaluate("() => [...document.querySelectorAll('img')].map(i => i.src)")
        own = [u for u in shown if urlsplit(u).path.startswith("/media/")]
        own = [u for u in own if urlsplit(u).path not in theirs]
        assert own, f"tab {name} has no picture of its own"
        for url in own:
            assert _get(url, cookie=cookie)[0] == 200
            assert _get(url, cookie=f"SRV={other}")[0] == 404, url
    for tab in tabs.values():
        tab.context.close()
    # no page crashed behind a polite apology box in either process
    assert "page failed" not in class_server.output(), class_server.output()[-3000:]


def _processes_mentioning(*needles: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in cmd for n in needles):
            found.append(f"{entry.name}: {cmd}")
    return found


def test_ctrl_c_stops_every_process_it_started(browser, tmp_path):
    """A class server of its own (the test stops it), whatever order the tests run in."""
    with _launch(tmp_path) as class_server:
        _stop_and_check(class_server)


def _stop_and_check(class_server: ClassServer) -> None:
    ports = [addr.rsplit(":", 1)[1] for addr in class_server.apps.values()]
    needles = [f"--server.port={p}" for p in ports] + [class_server.config]
    assert len(_processes_mentioning(*needles)) == 3  # two apps and the proxy, before
    class_server.proc.send_signal(signal.SIGINT)
    assert class_server.proc.wait(timeout=60) == 0
    assert "stopped." in class_server.output()
    time.sleep(0.5)
    for pid in class_server.pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"pid {pid} still runs"
    assert _processes_mentioning(*needles) == []
    # nothing listens on the public port any more
    host, port = class_server.url.removeprefix("http://").split(":")
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect((host, int(port)))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return False


def _xsrf(cookies: list[str]) -> str:
    found = [c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("_streamlit_xsrf=")]
    assert found, cookies
    return found[0]


def test_a_browser_keeps_its_owner_tag_on_every_process_and_the_teacher_link_works(
    class_server, page, wait_idle
):
    """The saved runs' owner is a tag of the XSRF cookie: each process writes it again with a new
    mask but the same token, so the tag is the same whichever process serves the browser. The
    launcher's teacher link makes a session the teacher's through the proxy."""
    first = _xsrf(_get(class_server.url + "/_stcore/health", cookie="SRV=app1")[2])
    for app in ("app1", "app2"):
        again = _xsrf(
            _get(class_server.url + "/_stcore/health", f"SRV={app}; _streamlit_xsrf={first}")[2]
        )
        assert owner_tag(again) == owner_tag(first), app
    link = re.search(
        r"^teacher link .*: (http://\S+/train\?teacher=(\S+))$", class_server.output(), re.M
    )
    assert link and len(link.group(2)) >= 16, class_server.output()
    page.goto(class_server.url + "/train?teacher=" + link.group(2))
    wait_idle(page)
    page.get_by_text("You are the teacher").wait_for(timeout=30_000)
    assert "teacher=" not in page.url
