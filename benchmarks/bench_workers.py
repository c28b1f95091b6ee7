"""What trainings cost the app process (issue 10, "trainings out of the server's way").

The script plays the app: it starts K trainings (LeNet-5 on digits, batches of 64) through the
public `cnnviz.training.Trainer` API and meanwhile runs a "live view" loop that wakes every 0.5 s and
does ~20 ms of pure-Python work (what a fragment rerun costs the server). It prints:

1. Start -> first batch seen by the app (ms), the first start (cold) and the median of the rest;
2. the live view's tick interval (p50 / p95, nominal 500 ms) and its 20 ms of work, inflated by
   whoever holds the GIL, with K trainings running;
3. Pause: batches between the click (the step the app had seen) and the pause, and ms;
4. the app process's CPU use while the K train, and its memory (RSS) before, during and after.

    python benchmarks/bench_workers.py              # K = 3
    python benchmarks/bench_workers.py --k 5
    PYTHONPATH=/path/to/older/checkout python benchmarks/bench_workers.py   # compare a version

Uses only the public API, so an older checkout (trainings as threads) runs it unchanged.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import threading
import time

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def busy(ms: float = 20.0) -> float:
    """~ms of pure-Python work (measured once on an idle GIL); returns the seconds it took."""
    t0 = time.perf_counter()
    n = 0
    for i in range(int(ms * 25000)):
        n += i * i
    return time.perf_counter() - t0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=3, help="trainings at once")
    ap.add_argument("--seconds", type=float, default=15.0, help="live view measured this long")
    args = ap.parse_args()

    import cnnviz
    from cnnviz import arch, data
    from cnnviz.training import Gate, TrainConfig, Trainer

    ds = data.builtin("digits")
    spec = arch.PRESETS["lenet5"]
    cfg = TrainConfig(epochs=1000, batch_size=64)
    base = busy()
    warm = ""
    try:  # what the Train page does when it first opens: start the fork server
        from cnnviz.training import worker

        worker.warm()
        t0 = time.perf_counter()
        p = worker.context().Process(target=int)
        p.start()
        p.join()
        warm = f"; fork server ready in {time.perf_counter() - t0:.1f} s (cold, not counted)"
    except ImportError:
        pass  # trainings as threads
    rss0 = rss_mb()
    gate = Gate(args.k)

    starts = []
    trainers = []
    for _ in range(args.k):
        t = Trainer(ds, spec, cfg, gate=gate)
        t0 = time.perf_counter()
        t.start()
        while t.progress().step < 1:
            if t.done:
                raise SystemExit(t.error)
            time.sleep(0.002)
        starts.append(time.perf_counter() - t0)
        trainers.append(t)

    ticks, work = [], []
    stop = threading.Event()

    def live_view():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(max(0.0, 0.5 - (time.perf_counter() - last)))
            now = time.perf_counter()
            ticks.append(now - last)
            last = now
            for t in trainers:
                t.progress(), t.snapshot(), t.batch_history(max(0, t.progress().step - 5))
            work.append(busy())

    c0, w0 = time.process_time(), time.perf_counter()
    view = threading.Thread(target=live_view)
    view.start()
    time.sleep(args.seconds)
    stop.set()
    view.join()
    cpu = (time.process_time() - c0) / (time.perf_counter() - w0)
    rss_during = rss_mb()

    pauses, pause_ms = [], []
    for t in trainers:
        seen = t.progress().step
        t0 = time.perf_counter()
        t.pause()
        while t.status != "paused":
            time.sleep(0.001)
        pause_ms.append((time.perf_counter() - t0) * 1e3)
        pauses.append(t.progress().step - seen)
    steps = sum(t.progress().step for t in trainers)
    for t in trainers:
        t.stop()
    for t in trainers:
        t.join(60)
    trainers.clear()
    import gc

    gc.collect()
    time.sleep(1.0)
    rss_after = rss_mb()

    load = os.getloadavg()
    where = pathlib.Path(cnnviz.__file__).resolve().parents[1]
    print(
        f"cnnviz from {where}; {os.cpu_count()} cores, load average {load[0]:.1f}; "
        f"{args.k} trainings of LeNet-5 on digits at once; {steps:,} batches in all{warm}"
    )
    print()
    print("| measure | figure |")
    print("|---|---|")
    rest = statistics.median(starts[1:]) if len(starts) > 1 else float("nan")
    print(
        f"| Start -> first batch seen by the app | {starts[0] * 1e3:.0f} ms first, "
        f"{rest * 1e3:.0f} ms median of the others |"
    )
    print(
        f"| live view tick, nominal 500 ms (p50 / p95) | {pct(ticks, 50) * 1e3:.0f} / "
        f"{pct(ticks, 95) * 1e3:.0f} ms |"
    )
    print(
        f"| its 20 ms of Python work (idle: {base * 1e3:.0f} ms), p50 / p95 | "
        f"{pct(work, 50) * 1e3:.0f} / {pct(work, 95) * 1e3:.0f} ms |"
    )
    print(
        f"| Pause: batches after the step the app had seen (max) / ms (median) | "
        f"{max(pauses)} / {statistics.median(pause_ms):.0f} ms |"
    )
    print(
        f"| app process CPU while they train (share of one core, view included) | "
        f"{cpu * 100:.0f} % |"
    )
    print(
        f"| app RSS before / during / after the trainings | {rss0:.0f} / {rss_during:.0f} / "
        f"{rss_after:.0f} MB |"
    )


if __name__ == "__main__":
    main()
