"""Simulated students on one cnnviz server, speaking Streamlit's websocket protocol like a browser.

    python benchmarks/load.py [--levels 1,10,30,60] [--duration 60] [--trainers K]
                              [--url http://127.0.0.1:8501] [--settle 60] [--smoke]

Each student opens the Convolution page and, every 1-3 s, changes the stride, the padding or the
kernel preset, then checks the page's sizes line shows what that change must give (a rerun that
changed nothing counts as an error, not as a fast answer). With `--trainers K`, K of the students
open the Train page instead, press Start with the default settings and keep answering the live
view's timers. No browser: 60 Chromiums would eat the 2 cores the server needs.

What a student does is what the browser does (each point once cost a wrong number):
- connects to `/_stcore/stream`; the first rerun names the page by its URL path, later ones carry
  the page hash from the `navigation` message;
- a run that ends "finished early for rerun" is not the end of an interaction;
- sends every widget's state with each rerun, the changed one replaced (buttons are triggers, sent
  once), and reruns only the fragment a widget lives in, as the browser does;
- keeps the message cache and reports the cached hashes, so the server sends references;
- fetches each new `/media/` file (the time to get them is part of the interaction);
- answers fragment timers (`run_every`) with fragment reruns.

Without `--url` it starts `streamlit run app.py` on a free loopback port (the repository's
config). Per level it prints interaction latency (p50 / p95 / max), errors, page-open time, the
server's CPU (all processes of its tree, from /proc; 100 % = one core) and its memory (RSS of the
tree) when the level starts, at its peak, and `--settle` seconds after everyone left, compared
with what it held `--settle` seconds after the first visitors left (per app process one on
Convolution and one who trained: the libraries are loaded then, so what grows past that is left
over from sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnviz.kernels import PRESETS, preset  # noqa: E402

MEDIA = re.compile(rb"/media/[0-9a-zA-Z_.-]+")
SIZES = re.compile(r"\*\*(\d+) × (\d+) × (\d+)\*\* → conv → \*\*(\d+) × (\d+) × (\d+)\*\*")
DONE = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
}
TIMEOUT = 60.0  # seconds an interaction may take before it counts as an error


class Failure(Exception):
    """An interaction that did not do what the student asked (or never answered)."""


# --- what the browser remembers about a widget ------------------------------------------------


def widget_value(el) -> WidgetState | None:
    """The state a browser sends for this widget element until the user changes it: the server's
    value when it set one, else the default. None for triggers, uploads, grids and components,
    which a browser only sends once the user touches them."""
    kind = el.WhichOneof("type")
    w = getattr(el, kind, None) if kind else None
    if w is None or not getattr(w, "id", ""):
        return None
    ws = WidgetState(id=w.id)
    if kind == "slider":
        if w.type == Slider.SELECT_SLIDER:
            vals = list(w.raw_value) if w.set_value else [w.options[int(i)] for i in w.default]
            ws.string_array_value.data.extend(vals)
        else:
            ws.double_array_value.data.extend(w.value if w.set_value else w.default)
    elif kind == "selectbox":
        if w.set_value:
            ws.string_value = w.raw_value
        elif w.HasField("default") and w.options:
            ws.string_value = w.options[w.default]
        else:
            return None
    elif kind == "button_group":
        vals = list(w.raw_values) if w.set_value else [w.options[i].content for i in w.default]
        ws.string_array_value.data.extend(vals)
    elif kind == "number_input":
        ws.double_value = w.value if w.set_value else w.default
    elif kind == "checkbox":
        ws.bool_value = w.value if w.set_value else w.default
    elif kind in ("text_area", "text_input"):
        ws.string_value = w.value if w.set_value else w.default
    elif kind == "tab_container":  # a block: st.tabs with a key
        ws.string_value = w.default_tab_label
    elif kind == "expandable":  # a block: st.expander(key=..., on_change="rerun")
        ws.bool_value = w.expanded
    elif kind == "popover":
        ws.bool_value = w.open
    else:
        return None
    return ws


def inner(obj):
    """The proto inside an Element or Block (a slider, a tab container...), or None."""
    t = obj.WhichOneof("type") if obj is not None else None
    return getattr(obj, t, None) if t else None


def _unset(el):
    """The element as if the server had set no value: what widget_value gives is its default."""
    copy = type(el)()
    copy.CopyFrom(el)
    w = getattr(copy, copy.WhichOneof("type"))
    if hasattr(w, "set_value"):
        w.set_value = False
    return copy


@dataclass
class Result:
    """One request's answer: seconds until the run ended and its pictures were fetched."""

    seconds: float
    media: int
    media_bytes: int


class Browser:
    """One tab: one websocket session with the browser's bookkeeping (elements, widget states,
    message cache, media, fragment timers)."""

    def __init__(self, base: str, page: str, cache_age: int = 2):
        self.base = base.rstrip("/")
        self.page = page  # URL path of the page to open ("convolution")
        self.ws = None
        self.elements: dict[tuple, tuple[str, str, object]] = {}  # path -> (run, fragment, el)
        self.states: dict[str, WidgetState] = {}  # widget id -> what the browser would send
        self.fragment_of: dict[str, str] = {}  # widget id -> fragment it lives in ("" = none)
        self.cache: dict[str, ForwardMsg] = {}  # hash -> message (the browser's message cache)
        self.cache_used: dict[str, int] = {}  # hash -> full run number it was last used in
        self.cache_age = cache_age
        self.full_runs = 0
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path -> page hash
        self.query = ""
        self.run_id = ""
        self.run_fragments: list[str] = []
        self.fetched: set[str] = set()
        self.fetches: list[asyncio.Task] = []
        self.waiter: asyncio.Future | None = None
        self.timers: dict[str, asyncio.Task] = {}  # fragment id -> its run_every task
        self.ticks: list[float] = []  # seconds per answered fragment timer
        self.tick_times: list[tuple[float, bool]] = []  # when each tick's run finished; training?
        self.errors: list[str] = []  # what the server showed as an error
        self.reader: asyncio.Task | None = None
        self.busy = asyncio.Lock()  # one request at a time, as a tab whose script is running
        self.cookies: dict[str, str] = {}

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    # --- connection ----------------------------------------------------------------------

    async def open(self, query: str = "") -> Result:
        host = urlsplit(self.base).netloc
        url = self.base.replace("http", "ws", 1) + "/_stcore/stream"
        started = time.perf_counter()
        # the page itself first, as a browser loads it: a proxy in front of several app
        # processes sets its sticky-session cookie here
        await http_get(f"{self.base}/{self.page}", jar=self.cookies)
        self.ws = await websockets.connect(
            url,
            subprotocols=["streamlit"],
            origin=f"http://{host}",
            additional_headers={"Cookie": self.cookie} if self.cookies else None,
            max_size=None,
            ping_interval=None,
            open_timeout=TIMEOUT,
        )
        self.reader = asyncio.create_task(self._read())
        self.query = query
        res = await self.request(page_name=self.page, started=started)
        return res

    async def close(self) -> None:
        for t in self.timers.values():
            t.cancel()
        self.timers.clear()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
        for f in self.fetches:
            f.cancel()

    # --- requests -------------------------------------------------------------------------

    def _client_state(self, fragment_id: str = "", auto: bool = False, page_name: str = ""):
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = "" if page_name else self.page_hash
        cs.page_name = page_name
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.cached_message_hashes.extend(self.cache)
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"{self.base}/{self.page}" + (f"?{self.query}" if self.query else "")
        cs.widget_states.widgets.extend(self.states.values())
        return msg, cs

    async def request(
        self,
        change: WidgetState | None = None,
        trigger: str | None = None,
        page_name: str = "",
        fragment_id: str | None = None,
        auto: bool = False,
        started: float | None = None,
    ) -> Result:
        """Send one rerun (a changed widget, a pressed button, a page open or a timer tick) and
        wait for its run to end and its new pictures to arrive."""
        async with self.busy:
            if change is not None:
                self.states[change.id] = change
                self._write_url(change)
            widget = change.id if change is not None else trigger
            if fragment_id is None:
                fragment_id = self.fragment_of.get(widget, "") if widget else ""
            msg, cs = self._client_state(fragment_id, auto, page_name)
            if trigger:
                cs.widget_states.widgets.add(id=trigger, trigger_value=True)
            loop = asyncio.get_running_loop()
            self.waiter = loop.create_future()
            self.fetches = []
            started = started or time.perf_counter()
            await self.ws.send(msg.SerializeToString())
            try:
                await asyncio.wait_for(asyncio.shield(self.waiter), TIMEOUT)
                if self.fetches:
                    got = await asyncio.wait_for(
                        asyncio.gather(*self.fetches, return_exceptions=True), TIMEOUT
                    )
                    got = [g for g in got if isinstance(g, int)]  # failures: see _fetched
                else:
                    got = []
            except TimeoutError as err:
                raise Failure(f"no answer in {TIMEOUT:.0f} s") from err
            finally:
                self.waiter = None
            if isinstance(status := self._status, Exception):
                raise status
            return Result(time.perf_counter() - started, len(got), sum(got))

    def _write_url(self, change: WidgetState) -> None:
        """A widget bound to the URL: the browser writes its new value into the address (the
        next rerun's query string), and drops it when it is the default."""
        el = self._element_of(change.id)
        if el is None:
            return
        key = getattr(inner(el), "query_param_key", "")
        if not key:
            return
        kind = change.WhichOneof("value")
        value = getattr(change, kind)
        if kind in ("double_array_value", "string_array_value"):
            value = ",".join(f"{v:g}" if isinstance(v, float) else v for v in value.data)
        elif isinstance(value, float):
            value = f"{value:g}"
        default = widget_value(_unset(el))
        params = [(k, v) for k, v in parse_qsl(self.query, keep_blank_values=True) if k != key]
        if default is None or default.SerializeToString() != change.SerializeToString():
            params.append((key, str(value)))
        self.query = urlencode(params)

    def _element_of(self, wid: str):
        for _, _, el in self.elements.values():
            if getattr(inner(el), "id", "") == wid:
                return el
        return None

    # --- what the server sends ------------------------------------------------------------

    _status: object = None

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass
        finally:
            if self.waiter is not None and not self.waiter.done():
                self._status = Failure("the connection closed")
                self.waiter.set_result(None)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if msg.hash and msg.metadata.cacheable:
            self.cache[msg.hash] = msg
            self.cache_used[msg.hash] = self.full_runs
        if kind == "ref_hash":
            cached = self.cache.get(msg.ref_hash)
            if cached is None:
                self.errors.append("a reference to a message this tab never got")
                return
            self.cache_used[msg.ref_hash] = self.full_runs
            path = tuple(msg.metadata.delta_path)
            msg = cached
            kind = "delta"
        else:
            path = tuple(msg.metadata.delta_path)
        if kind == "new_session":
            self.run_id = msg.metadata.run.script_run_id
            self.run_fragments = list(msg.metadata.run.fragment_ids)
            self.cache_age = msg.new_session.config.max_cached_message_age or self.cache_age
            if not self.run_fragments:
                self.full_runs += 1
                for t in self.timers.values():  # the run registers the timers it still wants
                    t.cancel()
                self.timers.clear()
        elif kind == "delta":
            self._delta(msg.delta, path)
        elif kind == "navigation":
            nav = msg.navigation
            self.pages = {p.url_pathname: p.page_script_hash for p in nav.app_pages}
            self.page_hash = nav.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                if t := self.timers.pop(fid, None):
                    t.cancel()
        elif kind == "session_event":
            self.errors.append(f"session event {msg.session_event.WhichOneof('type')}")
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return  # the server reruns by itself: the interaction goes on
            self._prune(status)
            if self.waiter is not None and not self.waiter.done():
                self._status = (
                    Failure("compile error")
                    if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR
                    else None
                )
                self.waiter.set_result(None)

    def _delta(self, delta, path: tuple) -> None:
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            el = delta.new_element
            self.elements[path] = (self.run_id, delta.fragment_id, el)
            etype = el.WhichOneof("type")
            if etype == "exception":
                self.errors.append(f"exception: {el.exception.message[:120]}")
            elif etype == "alert" and el.alert.format == el.alert.ERROR:
                self.errors.append(f"error box: {el.alert.body[:120]}")
            w = getattr(el, etype, None) if etype else None
            wid = getattr(w, "id", "") if w is not None else ""
            if wid:
                self.fragment_of[wid] = delta.fragment_id
                value = widget_value(el)
                if value is not None and (wid not in self.states or getattr(w, "set_value", False)):
                    self.states[wid] = value
            for url in MEDIA.findall(el.SerializeToString()):
                self._fetch(url.decode())
        elif kind == "add_block":
            block = delta.add_block
            self.elements[path] = (self.run_id, delta.fragment_id, block)
            w = inner(block)
            if w is not None and (wid := getattr(w, "id", "")):
                self.fragment_of[wid] = delta.fragment_id
                if wid not in self.states and (value := widget_value(block)) is not None:
                    self.states[wid] = value

    def _prune(self, status) -> None:
        """What a browser drops when a run ends: elements (and their widgets) the run did not
        draw again; cached messages unused for `cache_age` full runs."""
        if status == ForwardMsg.FINISHED_SUCCESSFULLY:
            stale = [p for p, (run, _, _) in self.elements.items() if run != self.run_id]
        elif status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            stale = [
                p
                for p, (run, frag, _) in self.elements.items()
                if frag in self.run_fragments and run != self.run_id
            ]
        else:
            return
        for p in stale:
            del self.elements[p]
        alive = {getattr(inner(el), "id", "") for _, _, el in self.elements.values()}
        for wid in list(self.states):
            if wid not in alive:
                del self.states[wid]
        if status == ForwardMsg.FINISHED_SUCCESSFULLY:
            old = [h for h, n in self.cache_used.items() if self.full_runs - n > self.cache_age]
            for h in old:
                self.cache.pop(h, None)
                self.cache_used.pop(h, None)

    def _fetch(self, url: str) -> None:
        if url in self.fetched:
            return
        self.fetched.add(url)
        task = asyncio.create_task(http_get(self.base + url, self.cookie))
        task.add_done_callback(self._fetched)
        self.fetches.append(task)

    def _fetched(self, task: asyncio.Task) -> None:
        """A picture that could not be fetched is an error, awaited by a request or not."""
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(f"media: {task.exception()}")

    def _timer(self, fragment_id: str, interval: float) -> None:
        if t := self.timers.pop(fragment_id, None):
            t.cancel()
        self.timers[fragment_id] = asyncio.create_task(self._tick(fragment_id, interval))

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """A browser's setInterval for a run_every fragment; a tick is skipped while this tab
        already waits for a run (the server would merge them anyway)."""
        while True:
            await asyncio.sleep(interval)
            if self.busy.locked():
                continue
            try:
                res = await self.request(fragment_id=fragment_id, auto=True)
            except Failure as err:
                self.errors.append(f"timer: {err}")
                continue
            self.ticks.append(res.seconds)
            # when, and whether the training was running (a queued one redraws less often)
            self.tick_times.append((time.perf_counter(), self.progress().startswith("Training")))

    # --- reading the page -----------------------------------------------------------------

    def widget(self, key: str):
        """The element of the widget with this user key (its URL name or its id's suffix)."""
        for _, _, el in self.elements.values():
            w = inner(el)
            if w is None or not getattr(w, "id", ""):
                continue
            if getattr(w, "query_param_key", "") == key or w.id.endswith(f"-{key}"):
                return w
        raise Failure(f"no widget {key!r} on the page")

    def progress(self) -> str:
        """The text of the page's progress bar ("" when there is none)."""
        for _, _, el in self.elements.values():
            if el is not None and el.WhichOneof("type") == "progress":
                return el.progress.text
        return ""

    def markdown(self) -> list[str]:
        return [
            el.markdown.body
            for _, _, el in self.elements.values()
            if el is not None and el.WhichOneof("type") == "markdown"
        ]


async def http_get(url: str, cookie: str = "", jar: dict | None = None) -> int:
    """GET a file as a browser would, with its cookies (a proxy's sticky-session cookie);
    `jar` collects the cookies the answer sets. Returns the body's size; raises on a bad status."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    try:
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            + (f"Cookie: {cookie}\r\n" if cookie else "")
            + "Connection: close\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1] if b" " in head else b"?"
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        if jar is not None and name.strip().lower() == "set-cookie":
            k, _, v = value.strip().split(";", 1)[0].partition("=")
            jar[k] = v
    if status != b"200":
        raise Failure(f"{parts.path}: HTTP {status.decode()}")
    return len(body)


# --- what a student does ----------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # verified interactions, seconds
    opens: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    verified: int = 0
    media: int = 0
    starts: list[float] = field(default_factory=list)  # Start button answered, seconds
    ticks: list[float] = field(default_factory=list)  # fragment timer runs, seconds
    tick_gaps: list[float] = field(default_factory=list)  # between two updates while training


def expected_conv(h: int, w: int, k: int, s: int, p: int) -> tuple[int, int]:
    """The convolution's output size (dilation 1), as torch computes it."""
    return (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1


def sizes_line(b: Browser) -> tuple[int, ...]:
    for text in b.markdown():
        if m := SIZES.search(text):
            return tuple(int(v) for v in m.groups())
    raise Failure("no sizes line on the Convolution page")


KERNELS = {name.replace("_", " "): preset(name).shape[0] for name in PRESETS}

# seconds a simulated student thinks between two changes (uniform in this range)
THINK_S = (1.0, 3.0)


async def conv_student(
    b: Browser,
    stats: Stats,
    until: float,
    rng: random.Random,
    noop=False,
    changes: int | None = None,
    think: tuple[float, float] = THINK_S,
):
    """Open Convolution, then change stride, padding or the kernel every 1-3 s (`think`) and
    check the sizes line shows the new convolution's output. `noop` (the self-test) sends the old
    value back, which the check must catch."""
    res = await b.open()
    stats.opens.append(res.seconds)
    h, w, c, ho, wo, _ = sizes_line(b)
    state = {"s": 1, "p": 0, "kernel": "sobel x"}
    if (ho, wo) != expected_conv(h, w, KERNELS[state["kernel"]], 1, 0):
        raise Failure(f"the page does not open on its defaults: {h}x{w} -> {ho}x{wo}")
    done = 0
    while time.perf_counter() < until and (changes is None or done < changes):
        done += 1
        await asyncio.sleep(rng.uniform(*think))
        if time.perf_counter() >= until:
            break
        what = rng.choice(("s", "p", "kernel"))
        now = expected_conv(h, w, KERNELS[state["kernel"]], state["s"], state["p"])
        choices = {
            "s": [v for v in range(1, 5) if v != state["s"]],
            "p": [v for v in range(0, 4) if v != state["p"]],
            "kernel": list(KERNELS),
        }[what]
        new = dict(state)
        options = [
            v
            for v in choices
            if expected_conv(
                h,
                w,
                KERNELS[{**state, what: v}["kernel"]],
                {**state, what: v}["s"],
                {**state, what: v}["p"],
            )
            != now
        ]
        new[what] = rng.choice(options)
        widget = b.widget(what)
        ws = WidgetState(id=widget.id)
        sent = state if noop else new
        if what == "kernel":
            ws.string_value = sent["kernel"]
        else:
            ws.double_array_value.data.append(float(sent[what]))
        try:
            res = await b.request(change=ws)
            got = sizes_line(b)
            want = expected_conv(h, w, KERNELS[new["kernel"]], new["s"], new["p"])
            if got[3:5] != want:
                raise Failure(
                    f"{what}={new[what]}: the page shows {got[3]}x{got[4]}, "
                    f"expected {want[0]}x{want[1]}"
                )
        except Failure as err:
            stats.errors.append(str(err))
            if noop:
                continue
            raise
        state = new
        stats.verified += 1
        stats.media += res.media
        stats.latencies.append(res.seconds)


async def trainer(b: Browser, stats: Stats, until: float, rng: random.Random):
    """Open Train, press Start with the default settings, then let it run, answering the live
    view's timers, until the level ends."""
    res = await b.open()
    stats.opens.append(res.seconds)
    await asyncio.sleep(rng.uniform(1.0, 3.0))
    tabs = b.widget("step")
    await b.request(change=WidgetState(id=tabs.id, string_value="Train"))
    await asyncio.sleep(rng.uniform(1.0, 3.0))
    start = b.widget("tr_start")
    if start.disabled:
        raise Failure("Start is disabled on the Train page")
    res = await b.request(trigger=start.id)
    stats.starts.append(res.seconds)
    status = b.progress().split(" ", 1)[0]
    if status not in ("Waiting", "Training", "Finished"):
        raise Failure(f"Start pressed, but the live view says {b.progress()!r}")
    if status != "Finished" and not b.timers:
        raise Failure("the training runs, but the live view set no timer")
    while time.perf_counter() < until:
        await asyncio.sleep(0.5)
    stats.ticks.extend(b.ticks)
    times = b.tick_times  # the live view's rate while training (queued: every WAIT_TICK s)
    stats.tick_gaps.extend(
        t1 - t0 for (t0, run0), (t1, run1) in zip(times, times[1:]) if run0 and run1
    )


async def student(
    base: str,
    role: str,
    stats: Stats,
    until: float,
    seed: int,
    noop=False,
    changes: int | None = None,
    think: tuple[float, float] = THINK_S,
):
    rng = random.Random(seed)
    b = Browser(base, "train" if role == "trainer" else "convolution")
    try:
        if role == "trainer":
            await trainer(b, stats, until, rng)
        else:
            await conv_student(b, stats, until, rng, noop, changes, think)
    except Failure as err:
        stats.errors.append(str(err))
    except (OSError, websockets.WebSocketException) as err:
        stats.errors.append(f"connection: {err}")
    finally:
        stats.errors.extend(b.errors)
        await b.close()


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=5).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server did not start")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(root: int) -> list[int]:
    kids, out, todo = _children(), [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def listener(port: int) -> int | None:
    """The process listening on this loopback port (one of this user's)."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{d}/fd"):
                link = os.readlink(f"/proc/{d}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(d)
        except OSError:
            continue
    return None


class Server:
    """CPU seconds and RSS of a process and all its descendants, read from /proc."""

    def __init__(self, root: int):
        self.root = root
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        total = 0
        for p in tree(self.root):
            try:
                f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(f[11]) + int(f[12])
        return total / self.tick

    def rss_mb(self) -> float:
        total = 0
        for p in tree(self.root):
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024


# --- levels ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


async def level(
    base: str,
    n: int,
    trainers: int,
    duration: float,
    ramp: float,
    server: Server,
    seed: int,
    noop: bool = False,
    changes: int | None = None,
    think: tuple[float, float] = THINK_S,
) -> dict:
    """`n` students join over `ramp` seconds, work for `duration` seconds, then leave."""
    conv, train = Stats(), Stats()
    rss0, peak = server.rss_mb(), server.rss_mb()
    cpu0, t0 = server.cpu(), time.perf_counter()
    until = t0 + ramp + duration
    tasks = []
    for i in range(n):
        role = "trainer" if i < trainers else "conv"
        if n > 1:
            await asyncio.sleep(ramp / n)
        s = train if role == "trainer" else conv
        job = student(base, role, s, until, seed * 1000 + i, noop, changes, think)
        tasks.append(asyncio.create_task(job))
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.5)
        peak = max(peak, server.rss_mb())
    cpu_s = server.cpu() - cpu0
    cpu = cpu_s / (time.perf_counter() - t0) * 100
    load = os.getloadavg()[0]
    return {
        "n": n,
        "conv": conv,
        "train": train,
        "cpu": cpu,
        "cpu_s": cpu_s,
        "rss0": rss0,
        "peak": peak,
        "load": load,
    }


def row(r: dict) -> str:
    c, t = r["conv"], r["train"]
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    errs = len(c.errors) + len(t.errors)
    per = f"{r['cpu_s'] / c.verified * 1000:.0f}" if c.verified and not t.opens else "-"
    cells = [
        str(r["n"]),
        str(len(t.opens)),
        str(c.verified),
        ms(pct(c.latencies, 0.5)),
        ms(pct(c.latencies, 0.95)),
        ms(max(c.latencies, default=0)),
        str(errs),
        ms(pct(c.opens + t.opens, 0.5)),
        ms(max(c.opens + t.opens, default=0)),
        f"{r['cpu']:.0f}",
        per,
        f"{r['rss0']:.0f}",
        f"{r['peak']:.0f}",
        f"{r['after']:.0f}",
        f"{(r['after'] / r['first'] - 1) * 100:+.0f} %" if r.get("first") else "-",
    ]
    if t.opens:
        cells += [
            ms(pct(t.starts, 0.5)) if t.starts else "-",
            ms(pct(t.tick_gaps, 0.5)) if t.tick_gaps else "-",
        ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| students | training | changes verified | p50 ms | p95 ms | max ms | errors | "
    "open p50 ms | open max ms | server CPU % | CPU ms / change | RSS start MB | RSS peak MB | RSS after MB | "
    "after vs first visitors |"
)


def app_processes(root: int) -> int:
    """How many `streamlit run` processes serve (1 for `make run`, one per core for `make class`)."""
    n = 0
    for p in tree(root):
        try:
            n += b"streamlit" in Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
    return max(1, n)


async def first_visit(args, base: str, server: Server) -> float:
    """For each app process one student on Convolution and (with --trainers) one who trains
    (HAProxy gives each new browser the process with the fewest connections), then everyone
    leaves: the server's RSS `--settle` seconds later is what it holds once warm (the libraries
    a page imports, the training processes' server), what the level's "RSS after" is compared
    with."""
    apps = app_processes(server.root)
    trainers = apps if args.trainers else 0
    await level(base, 2 * apps, trainers, args.first_visit, 2.0, server, args.seed + 99)
    await asyncio.sleep(args.settle)
    return server.rss_mb()


async def run_levels(args, base: str, server: Server) -> list[dict]:
    results = []
    first = await first_visit(args, base, server) if args.first_visit > 0 else None
    if first is not None and not args.quiet:
        print(f"RSS after the first visitors left: {first:.0f} MB", flush=True)
    for i, n in enumerate(args.levels):
        trainers = min(args.trainers, n)
        r = await level(base, n, trainers, args.duration, args.ramp, server, args.seed + i)
        await asyncio.sleep(args.settle)
        r["after"] = server.rss_mb()
        r["first"] = first
        results.append(r)
        if not args.quiet:
            print(row(r), flush=True)
            print(f"  machine load average (1 min) at the end of the level: {r['load']:.1f}")
            for e in sorted(set(r["conv"].errors + r["train"].errors))[:5]:
                print(f"  error: {e}", flush=True)
    return results


def run_async(make_coroutine):
    """asyncio.run in a thread of its own: the caller may already run an event loop (a test
    session that drove Playwright's sync API does)."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(make_coroutine())
        except BaseException as err:  # noqa: BLE001 - handed back to the caller below
            out["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def smoke(base: str, server: Server) -> dict:
    """Two students make 3 changes each, then one sends the old value back twice: its checks
    must fail. Bounded by count (and 120 s), so a busy machine makes it slower, not emptier. A
    check of the client, not a measurement: they think 0.2-0.5 s, not a student's 1-3 s."""
    quick = (0.2, 0.5)

    async def go():
        good = await level(base, 2, 0, 120.0, 0.5, server, 1, changes=3, think=quick)
        bad = await level(base, 1, 0, 120.0, 0.0, server, 2, noop=True, changes=2, think=quick)
        return good, bad

    good, bad = run_async(go)
    return {
        "verified": good["conv"].verified,
        "errors": good["conv"].errors,
        "opens": good["conv"].opens,
        "media": good["conv"].media,
        "noop_verified": bad["conv"].verified,
        "noop_errors": bad["conv"].errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="1,10,30,60", type=lambda s: [int(v) for v in s.split(",")])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of work per level")
    ap.add_argument("--ramp", type=float, default=10.0, help="seconds over which students join")
    ap.add_argument("--trainers", type=int, default=0, help="students who train instead")
    ap.add_argument(
        "--settle", type=float, default=60.0, help="seconds after everyone left before 'RSS after'"
    )
    ap.add_argument(
        "--first-visit",
        type=float,
        default=20.0,
        help="seconds the first visitors (per app process one on Convolution, one training) "
        "stay before the levels; the RSS --settle s after they left is the baseline of 'after vs first "
        "visitors' (0: no first visit)",
    )
    ap.add_argument("--url", help="an already running server (else one is started)")
    ap.add_argument(
        "--pid",
        type=int,
        help="root process of --url's server (default: the "
        "process listening on its port; a proxy's parent when that is haproxy)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="2 students for a few seconds")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    proc = None
    log = tempfile.TemporaryFile()
    if args.url:
        base = args.url.rstrip("/")
        pid = args.pid or listener(urlsplit(base).port or 80)
        if pid is None:
            raise SystemExit(f"nothing of yours listens on {base}: pass --pid")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        if not args.pid and comm == "haproxy":
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    else:
        port = free_port()
        proc = start_server(port, log)
        base, pid = f"http://127.0.0.1:{port}", proc.pid
    server = Server(pid)
    try:
        if args.smoke:
            out = smoke(base, server)
            print(out)
            ok = out["verified"] > 0 and not out["errors"] and out["noop_errors"]
            sys.exit(0 if ok and out["noop_verified"] == 0 else 1)
        print(
            f"cnnviz under load: {base}, server tree of pid {pid} ({len(tree(pid))} processes); "
            f"{args.duration:.0f} s per level after a {args.ramp:.0f} s ramp, "
            f"{args.trainers} training; RSS after = {args.settle:.0f} s after everyone left"
        )
        print(HEADER + (" Start ms | live update every ms (training) |" if args.trainers else ""))
        print("|---" * (15 + 2 * bool(args.trainers)) + "|", flush=True)
        asyncio.run(run_levels(args, base, server))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
