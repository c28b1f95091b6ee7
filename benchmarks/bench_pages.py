"""Server CPU per rerun of each page with its defaults: what every student's click costs the one
Python process of a class (its GIL), before the browser draws anything.

    python benchmarks/bench_pages.py [--runs 15] [--against REV]

Each page's script runs in Streamlit's AppTest (the same script run a real server does, without
the websocket): 3 warm-up runs, then the median CPU time (`time.process_time`) of `--runs` more.
`--against REV` also runs the pages of git revision REV (checked out in a temporary worktree) in
a separate process and prints both side by side with their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = (
    "home",
    "convolution",
    "pooling",
    "step_by_step",
    "output_size",
    "activations",
    "backprop",
    "ideas",
)


def measure(root: Path, runs: int) -> dict[str, float]:
    """{page: median ms of CPU per rerun} for the pages of the checkout at `root`."""
    sys.path.insert(0, str(root))
    from streamlit.testing.v1 import AppTest

    out = {}
    for page in PAGES:
        path = root / "pages" / f"{page}.py"
        if not path.exists():
            continue
        at = AppTest.from_file(str(path), default_timeout=120)
        for _ in range(3):
            at.run()
        times = []
        for _ in range(runs):
            t = time.process_time()
            at.run()
            times.append(time.process_time() - t)
        out[page] = 1000 * statistics.median(times)
    return out


def in_process(root: Path, runs: int) -> dict[str, float]:
    """`measure` in a fresh Python process with `root` as its working folder."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        f"from bench_pages import measure; from pathlib import Path; "
        f"print(json.dumps(measure(Path({str(root)!r}), {runs})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--against", help="a git revision to compare with")
    args = ap.parse_args()
    now = in_process(ROOT, args.runs)
    if not args.against:
        print(f"{'page':14s} {'ms per rerun':>12s}")
        for page, ms in now.items():
            print(f"{page:14s} {ms:12.0f}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "ref"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", str(wt), args.against], check=True
        )
        try:
            ref = in_process(wt, args.runs)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)], check=False
            )
    print(f"{'page':14s} {args.against[:12]:>12s} {'this':>8s} {'ratio':>7s}")
    for page, ms in now.items():
        old = ref.get(page)
        ratio = f"{ms / old:7.2f}" if old else f"{'':7s}"
        print(f"{page:14s} {old or float('nan'):12.0f} {ms:8.0f} {ratio}")


if __name__ == "__main__":
    main()
