"""Explore page, end to end in headless Chromium: from lifting the pen on the drawing canvas to
the net's answer (the verdict) and the overview picture of every layer showing the new drawing.

    python benchmarks/bench_explore.py [--strokes 30]

Makes the built-in net first (`python -m cnnviz pretrain` into a temporary CNNVIZ_CACHE, not
timed), starts its own `streamlit run app.py` on a free port (the repository's config), opens
/explore?src=Draw and draws strokes with the mouse, in pairs: after clearing the canvas (not
timed) a vertical stroke (a 1: the verdict appears), then a bar on top of it (a 7: the verdict
changes); each pair a few pixels to the right of the last, so every drawing is new. A stroke is
done when the verdict shows a new answer and the overview's <img> has a new source, has decoded
and a frame has been painted after it. Times are from Python (Playwright's mouse-up to the
painted frame, the harness's round trips included) and by the browser's own clock (the mouseup
event to the frame, separately for the verdict and the overview). The drawing pad
(cnnviz/ui/sketch.py) sends the drawing the moment the pen lifts; the last lines say how the
time splits.
Beside it, the same work in-process without Streamlit or a browser, and the server's CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_playground as bp  # noqa: E402 - free_port, start_server, pct, the server's log
from load import Server  # noqa: E402 - the server tree's CPU seconds from /proc

ROOT = bp.ROOT
VERDICT = ".st-key-verdict"
OVERVIEW = f".st-key-overview_click {bp.FRAME}"
# the browser: when the verdict shows a new answer and the overview a new decoded picture
WATCH = """([oldVerdict, oldSrc]) => {
  const now = performance.timeOrigin + performance.now();
  const v = document.querySelector('.st-key-verdict');
  const text = v ? v.innerText : null;
  if (window.__verdictAt == null && text && text.includes('It says') && text !== oldVerdict)
    window.__verdictAt = now;
  const f = document.querySelector(".st-key-overview_click iframe");
  const i = f && f.contentDocument && f.contentDocument.getElementById('image');
  if (window.__overviewAt == null && i && i.src && i.src !== oldSrc && i.complete
      && i.naturalWidth > 0)
    window.__overviewAt = now;
  return window.__verdictAt != null && window.__overviewAt != null;
}"""
# the browser: when each message to the server left (the drawing, 200 ms after the pen lifts)
SENDS = """(() => { const send = WebSocket.prototype.send; window.__sends = [];
  window.__got = []; const now = () => performance.timeOrigin + performance.now();
  WebSocket.prototype.send = function (d) {
    if (!this.__watched) { this.__watched = true;
      this.addEventListener('message', () => window.__got.push(now())); }
    window.__sends.push(now()); return send.call(this, d); };
})()"""
STATE = """() => { const v = document.querySelector('.st-key-verdict');
  const f = document.querySelector(".st-key-overview_click iframe");
  const i = f && f.contentDocument && f.contentDocument.getElementById('image');
  return [v ? v.innerText : null, i ? i.src : null]; }"""


def one_and_seven(shift: float) -> tuple[list, list]:
    """A vertical stroke and the bar on top that makes it a 7, as fractions of the canvas."""
    x = 0.5 + shift
    return [(x, 0.15), (x, 0.5), (x, 0.85)], [(x - 0.3, 0.15), (x - 0.15, 0.15), (x, 0.15)]


def stroke(page, box: dict, points: list) -> float:
    """One pen stroke (as tests/browser/test_explore.py draws one); perf_counter at the lift."""
    x, y = points[0]
    page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=4)
    t0 = time.perf_counter()
    page.mouse.up()
    return t0


def drawing(points_list: list[list], size: int = 224, pen: int = 18) -> str:
    """What the drawing pad sends for these strokes (white pen on black): a PNG data URL."""
    import base64
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    d = ImageDraw.Draw(im)
    for pts in points_list:
        d.line([(x * size, y * size) for x, y in pts], fill=(255, 255, 255, 255), width=pen)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def reference(repeat: int = 21) -> dict[str, float]:
    """The work of a stroke without Streamlit or a browser, median ms: the pad's PNG -> the digit
    input -> logits and softmax steps -> every layer's activations -> the unit's receptive field
    (traced afresh; the page keeps it per model) -> the overview PNG; and Grad-CAM + saliency
    (the "Why" section) on their own."""
    import numpy as np
    import torch
    from timing import median_ms

    from cnnviz.attribution import conv_layer_names, grad_cam, saliency
    from cnnviz.images.paper import as_digit_input
    from cnnviz.prediction import logits, softmax_steps
    from cnnviz.pretrained import pretrained
    from cnnviz.render.overview import overview_png
    from cnnviz.ui.explore.model import Explored
    from cnnviz.ui.explore.overview import look
    from cnnviz.ui.sketch import ink_from_data_url
    from cnnviz.unit_field import unit_field

    torch.set_num_threads(1)
    model, meta = pretrained("digits")
    m = Explored(model, meta, "built-in", "builtin")
    a, b = one_and_seven(0.0)
    sent = drawing([a, b])

    def answer():
        x = as_digit_input(ink_from_data_url(sent), m.input_shape[1])
        steps = softmax_steps(logits(m.model, x))
        net = look(m, x)
        layer = next(i for i, (_, v) in enumerate(net.columns) if i > 0 and np.ndim(v) == 3)
        h, w = net.columns[layer][1].shape[1:]
        box = unit_field(m.model, m.input_shape, net.names[layer], h // 2, w // 2)[0]
        fields = {0: (box.top, box.left, box.bottom + 1, box.right + 1)}
        overview_png(net.columns, fields, focus=(layer, 0))
        return x, steps

    x, steps = answer()
    convs = conv_layer_names(model)
    best = steps.top(1)[0][0]
    return {
        "answer + overview": median_ms(answer, repeat),
        "why (Grad-CAM + saliency)": median_ms(
            lambda: (grad_cam(model, x, convs[-1], best), saliency(model, x, best)), repeat
        ),
    }


def pretrain(cache: str) -> None:
    env = dict(os.environ, CNNVIZ_CACHE=cache)
    cmd = [sys.executable, "-m", "cnnviz", "pretrain", "--quiet"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def measure(port: int, server: Server, strokes: int) -> dict:
    from playwright.sync_api import sync_playwright

    py, verdict, overview, sent, first, cpu = [], [], [], [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=bp.CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(SENDS)
        page.goto(f"http://127.0.0.1:{port}/explore?src=Draw")
        page.wait_for_selector(bp.IDLE, timeout=120_000)
        canvas = page.locator(".st-key-canvas canvas").last
        canvas.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        page.evaluate(
            "() => document.addEventListener('mouseup', () => { window.__up = "
            "performance.timeOrigin + performance.now(); }, true)"
        )
        box = canvas.bounding_box()
        for i in range(strokes):
            if i % 2 == 0 and i:  # a new pair: clear the canvas, wait for the empty page
                page.locator(".st-key-canvas button", has_text="Clear").click()
                page.get_by_text("The canvas is empty: draw a digit.").wait_for(timeout=60_000)
                page.wait_for_selector(bp.IDLE, timeout=60_000)
                page.wait_for_timeout(300)
            shift = 0.02 * ((i // 2) % 8)
            points = one_and_seven(shift)[i % 2]
            old = page.evaluate(STATE)
            page.evaluate("() => { window.__verdictAt = null; window.__overviewAt = null; }")
            c0 = server.cpu()
            t0 = stroke(page, box, points)
            page.wait_for_function(WATCH, arg=old, timeout=60_000, polling="raf")
            painted = page.evaluate(
                "() => new Promise(r => requestAnimationFrame("
                "() => r(performance.timeOrigin + performance.now())))"
            )
            py.append((time.perf_counter() - t0) * 1000)
            up, v, o, sends, got = page.evaluate(
                "() => [window.__up, window.__verdictAt, window.__overviewAt, window.__sends, "
                "window.__got]"
            )
            verdict.append(v - up)
            overview.append(max(o, painted) - up)
            s0 = min((t for t in sends if t >= up), default=float("nan"))
            sent.append(s0 - up)
            first.append(min((t for t in got if t >= s0), default=float("nan")) - up)
            page.wait_for_selector(bp.IDLE, timeout=60_000)
            page.wait_for_timeout(200)  # the run's tail (the sections below the overview)
            cpu.append((server.cpu() - c0) * 1000)
        browser.close()
    return {
        "py": py,
        "verdict": verdict,
        "overview": overview,
        "sent": sent,
        "first": first,
        "cpu": cpu,
    }


def row(name: str, values: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(values):.0f} | {bp.pct(values, 0.95):.0f} "
        f"| {max(values):.0f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strokes", type=int, default=30)
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="cnnviz-bench-")
    pretrain(cache)
    os.environ["CNNVIZ_CACHE"] = cache
    bp.LOG = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    load_before = os.getloadavg()
    port = bp.free_port()
    proc = bp.start_server(port, [])
    try:
        r = measure(port, Server(proc.pid), args.strokes)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load_after = os.getloadavg()
    bp.LOG.flush()
    log = Path(bp.LOG.name).read_text()
    runs = [float(m) for m in re.findall(r"timing explore\.py ([\d.]+) ms", log)]
    ref = reference()
    print(
        f"Explore page, built-in digits net, {args.strokes} strokes drawn on the canvas in "
        f"headless Chromium; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)"
    )
    print()
    print("| pen lifted → | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(row("verdict shown (browser's clock)", r["verdict"]))
    print(row("overview painted (browser's clock)", r["overview"]))
    print(row("both, from Python", r["py"]))
    print(row("drawing sent to the server (browser's clock)", r["sent"]))
    print(row("first message back from the server (browser's clock)", r["first"]))
    after = [o - s for o, s in zip(r["overview"], r["sent"])]
    print(row("sent → overview painted (browser's clock)", after))
    print(row("server CPU per stroke (all threads)", r["cpu"]))
    if runs:
        print(row("page script run, server (CNNVIZ_TIMING)", runs[-args.strokes :]))
    print()
    print("| in-process, no Streamlit, no browser | median ms |")
    print("|---|---|")
    for name, ms in ref.items():
        print(f"| {name} | {ms:.1f} |")
    print()
    print(
        f"of the p50 ({statistics.median(r['overview']):.0f} ms to the overview): "
        f"{statistics.median(r['sent']):.0f} ms until the pad sends the drawing; the page's script "
        f"run on the server ({statistics.median(runs) if runs else float('nan'):.0f} ms) "
        "overlaps the browser drawing what has arrived (the answer, the chart, the overview...)"
    )


if __name__ == "__main__":
    main()
