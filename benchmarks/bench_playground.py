"""Convolution page, end to end in headless Chromium: from a slider change to the new feature map
painted, on a 512 x 512 RGB image, and the bytes the browser received for that update.

    python benchmarks/bench_playground.py [--changes 50] [--size 512]

Starts its own `streamlit run app.py` on a free port (the repository's config), opens
/convolution?size=512 (the 512 x 512 astronaut photo), then moves sliders with the keyboard,
round-robin: bias (every value changes), stride 1 <-> 2, padding 0 <-> 1, dilation 1 <-> 2.
An update is done when the feature map's <img> has a new source, has decoded, and a frame has
been painted. The table times it from Python (Playwright's key press to the painted frame, so it
includes the harness's own round trips); a last line times the same thing by the browser's own
clock, from the keydown event to that frame. Bytes = WebSocket frames + HTTP bodies (media PNG/JPEG) received in that window.
Beside it, the same update computed in-process without a browser (engine + PNG encoding), as a
reference for how much of the time is Streamlit and the browser.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("CNNVIZ_CHROMIUM", "/usr/bin/chromium")
FRAME = "iframe[title='streamlit_image_coordinates.streamlit_image_coordinates']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
LOG = open(os.devnull, "w")  # replaced in main by a temporary file holding the server's log
SLIDERS = (("b", "bias"), ("s", "stride"), ("p", "padding"), ("d", "dilation"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, extra: list[str]) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        *extra,
    ]
    env = dict(os.environ, CNNVIZ_TIMING="1")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=LOG, stderr=subprocess.STDOUT, env=env)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health").read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server did not start")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def reference(size: int, repeats: int = 11) -> dict[str, float]:
    """The same updates without Streamlit or a browser: engine run + the pictures' encoding."""
    from cnnviz import playground
    from cnnviz.images import sample_image
    from cnnviz.kernels import preset
    from cnnviz.render.colormaps import value_range
    from cnnviz.render.padded import picture
    from cnnviz.render.png import map_image, map_png, picture_bytes

    image = sample_image("astronaut", "rgb", size).array
    out = {}
    for key, name in SLIDERS:
        kw = {
            "b": {"bias": 0.05},
            "s": {"stride": (2, 2)},
            "p": {"padding": (1, 1)},
            "d": {"dilation": (2, 2)},
        }[key]
        s = playground.Settings(filters=(preset("sobel_x"),), activation="relu", pool="max", **kw)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            r = playground.run(image, s)
            picture_bytes(picture(r.padded, r.pads, (0, 0, 2, 2)))
            im, _ = map_image(r.feature[0], None, value_range(r.feature[0]), 256)
            im.save(__import__("io").BytesIO(), "PNG", compress_level=1)
            map_png(r.activated[0], min_side=256)
            map_png(r.pooled[0], min_side=256)
            times.append((time.perf_counter() - t) * 1000)
        out[name] = statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument(
        "--warm-torch",
        action="store_true",
        help="open the Train page first, so the server has torch loaded (as in a "
        "class where someone trains)",
    )
    ap.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra `streamlit run` flag, e.g. --server-arg=--runner.postScriptGC=false",
    )
    args = ap.parse_args()
    import re
    import tempfile

    from playwright.sync_api import sync_playwright

    global LOG
    LOG = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    port = free_port()
    proc = start_server(port, args.server_arg)
    received = [0]
    first_frame = [None]  # when the first WebSocket message of this update arrived
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def on_ws(ws):
                def on_frame(payload):
                    received[0] += len(payload)
                    if first_frame[0] is None:
                        first_frame[0] = time.perf_counter()

                ws.on("framereceived", on_frame)

            def on_response(resp):
                if "/media/" in resp.url or "/component/" in resp.url:
                    try:
                        received[0] += len(resp.body())
                    except Exception:  # noqa: BLE001 - a cancelled request has no body
                        pass

            if args.warm_torch:
                page.goto(f"http://127.0.0.1:{port}/train")
                page.wait_for_selector(IDLE, timeout=120_000)
            page.on("websocket", on_ws)
            page.on("response", on_response)
            page.goto(f"http://127.0.0.1:{port}/convolution?size={args.size}&sample=astronaut")
            page.wait_for_selector(IDLE, timeout=120_000)
            img = page.frame_locator(FRAME).locator("img")
            img.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            # the browser's own clock: from the key event to the frame after the new map decoded
            page.evaluate(
                "() => document.addEventListener('keydown', () => { window.__keydown = "
                "performance.timeOrigin + performance.now(); }, true)"
            )
            in_browser: list[float] = []
            rss_before = rss_mb(proc.pid)
            results: dict[str, list[tuple[float, int]]] = {name: [] for _, name in SLIDERS}
            firsts: list[float] = []
            for i in range(args.changes):
                key, name = SLIDERS[i % len(SLIDERS)]
                thumb = page.locator(f".st-key-{key} input[type='range']")
                before = img.get_attribute("src")
                value = float(thumb.input_value())
                step = "ArrowRight" if (i // len(SLIDERS)) % 2 == 0 else "ArrowLeft"
                if key == "b" and value >= 2.0:
                    step = "ArrowLeft"
                received[0] = 0
                first_frame[0] = None
                t0 = time.perf_counter()
                thumb.press(step)
                frame = page.frame(url=lambda u: "streamlit_image_coordinates" in u)
                frame.wait_for_function(
                    """old => { const i = document.getElementById('image');
                        if (!(i && i.src !== old && i.complete && i.naturalWidth > 0)) return false;
                        window.__seen = performance.timeOrigin + performance.now(); return true; }""",
                    arg=before,
                    timeout=30_000,
                    polling="raf",
                )
                painted = frame.evaluate(
                    "() => new Promise(r => requestAnimationFrame("
                    "() => r(performance.timeOrigin + performance.now())))"
                )
                ms = (time.perf_counter() - t0) * 1000
                pressed = page.evaluate("() => window.__keydown")
                in_browser.append(painted - pressed)
                page.wait_for_selector(IDLE, timeout=30_000)
                page.wait_for_timeout(150)  # trailing bytes of this update (media fetches)
                results[name].append((ms, received[0]))
                firsts.append(((first_frame[0] or t0) - t0) * 1000)
            rss_after = rss_mb(proc.pid)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    LOG.flush()
    runs = [
        float(m)
        for m in re.findall(r"timing convolution\.py ([\d.]+) ms", Path(LOG.name).read_text())
    ]
    ref = reference(args.size)
    print(
        f"Convolution page, {args.size}x{args.size} RGB (astronaut), grayscale Sobel x, "
        f"ReLU, max pool 2; {args.changes} slider changes in headless Chromium"
    )
    print(
        f"{'slider':<10}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'KB p50':>9}{'KB max':>9}"
        f"{'engine+PNG ms':>15}{'ratio':>7}"
    )
    every = []
    for _, name in SLIDERS:
        rows = results[name]
        if not rows:
            continue
        ms = [m for m, _ in rows]
        kb = [b / 1024 for _, b in rows]
        every += rows
        p50 = statistics.median(ms)
        print(
            f"{name:<10}{len(rows):>4}{p50:>9.0f}{pct(ms, 0.95):>9.0f}"
            f"{statistics.median(kb):>9.0f}{max(kb):>9.0f}{ref[name]:>15.0f}"
            f"{p50 / ref[name]:>7.1f}"
        )
    ms = [m for m, _ in every]
    kb = [b / 1024 for _, b in every]
    print(
        f"{'all':<10}{len(every):>4}{statistics.median(ms):>9.0f}{pct(ms, 0.95):>9.0f}"
        f"{statistics.median(kb):>9.0f}{max(kb):>9.0f}"
    )
    print("targets: p50 <= 150 ms, p95 <= 300 ms, <= 200 KB per update")
    print(
        f"by the browser's clock (key event -> frame after the new map decoded, no harness): "
        f"p50 {statistics.median(in_browser):.0f} ms, p95 {pct(in_browser, 0.95):.0f} ms"
    )
    if runs:
        print(
            f"page script run on the server: p50 {statistics.median(runs[-args.changes :]):.0f} ms "
            f"({len(runs)} runs logged)"
        )
    print(
        f"first server message after the key press: p50 {statistics.median(firsts):.0f} ms "
        "(the rest is the script run, the transfer and the browser's drawing)"
    )
    print(
        f"server RSS {rss_before:.0f} MB before the changes, {rss_after:.0f} MB after; "
        f"torch loaded: {args.warm_torch}; extra flags: {' '.join(args.server_arg) or 'none'}"
    )


if __name__ == "__main__":
    main()
