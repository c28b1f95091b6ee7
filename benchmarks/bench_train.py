"""Training speed, each figure side by side in one run (issue 5's targets):

1. time to >= 97% test accuracy on each built-in digits set with 2 threads (target <= 15 s),
   and with 1 (what the app uses): the Trainer as the app runs it (metrics, live snapshots),
   test accuracy checked after each epoch from the `on_epoch` callback (not counted);
2. Trainer throughput with metrics and live snapshots (4 a second) vs a bare torch loop on the
   same net, data, batches and optimizer, 1 thread each as in the app (overhead target <= 15%);
3. activation capture of every layer for one image, each preset (target <= 20 ms).

    python benchmarks/bench_train.py            # everything (about a minute on 2 idle cores)
    python benchmarks/bench_train.py --quick    # fewer repeats

Prints one markdown table. Timings on a shared machine vary; the load average is printed.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cnnviz import arch, data, probe, training  # noqa: E402

FAST = "conv8k3p1-bn-relu-max2-conv16k3p1-bn-relu-max2-flat-fc"
RUNS_97 = [  # (dataset, label, spec, lr)
    ("digits", "fast (2 conv + BN)", FAST, 5e-3),
    ("digits", "LeNet-5 preset", arch.PRESETS["lenet5"], 3e-3),
    ("digits28", "fast (2 conv + BN)", FAST, 5e-3),
    ("digits28", "LeNet-5 preset", arch.PRESETS["lenet5"], 3e-3),
]
THROUGHPUT = [("digits", FAST), ("digits28", arch.PRESETS["lenet5"])]


def time_to_97(
    ds, spec: str, lr: float, max_epochs: int, threads: int
) -> tuple[float | None, int, float]:
    """(training seconds until test accuracy >= 97%, or None; epochs; best accuracy)."""
    best, reached = 0.0, None

    def on_epoch(trainer, record):
        nonlocal best, reached
        acc = trainer.evaluate().accuracy
        best = max(best, acc)
        if acc >= 0.97:
            reached = record["seconds"]
            return True
        return False

    cfg = training.TrainConfig(lr=lr, epochs=max_epochs, batch_size=64)
    t = training.Trainer(ds, spec, cfg, gate=training.Gate(1), threads=threads, on_epoch=on_epoch)
    t.start()
    t.join()
    if t.error:
        raise RuntimeError(t.error)
    return reached, len(t.history()), best


def bare_loop(ds, spec: str, epochs: int, seed: int = 0) -> tuple[float, float]:
    """(images/s by the clock, images/s by this thread's CPU time) of the plainest loop:
    shuffle, forward, loss, backward, Adam step, loss.item()."""
    torch.manual_seed(seed)
    model = arch.build(spec, ds.input_shape, ds.n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=False)
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    g = torch.Generator().manual_seed(seed)
    n, bs = len(y), 64
    model.train()
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for b in range(math.ceil(n / bs)):
            idx = order[b * bs : (b + 1) * bs]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    return n * epochs / wall, n * epochs / cpu


def trainer_run(ds, spec: str, epochs: int) -> tuple[float, float, float, float]:
    """(images/s by the clock over training, by the worker's CPU time, by the clock including
    validation, snapshots per second) for the Trainer with live snapshots at its default rate."""
    cfg = training.TrainConfig(lr=1e-3, epochs=epochs, batch_size=64)
    t = training.Trainer(ds, spec, cfg, gate=training.Gate(1), threads=1)
    t0 = time.perf_counter()
    t.start()
    t.join()
    wall = time.perf_counter() - t0
    last = t.history()[-1]
    images = len(ds.y_train) * epochs
    return (
        images / last["train_seconds"],
        images / last["train_cpu_seconds"],
        images / wall,
        t.snapshot_count / wall,
    )


def snapshot_ms(ds, spec: str, repeat: int) -> float:
    """One live snapshot of a run that trained one batch (gradients present), in this process."""
    run = training.Run(spec, ds.input_shape, ds.classes, training.TrainConfig())

    class OneBatch(training.Hooks):
        snapshots = False

        def next_batch(self, run) -> bool:
            return run.step < 1

    training.fit(run, training.train_data(ds, run.config), OneBatch())
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run.take_snapshot()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def capture_ms(spec: str, shape, n_classes: int, repeat: int) -> float:
    model = arch.build(spec, shape, n_classes)
    x = torch.rand(1, *shape)
    probe.capture(model, x)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        probe.capture(model, x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one throughput repeat, fewer samples")
    ap.add_argument("--max-epochs", type=int, default=15)
    ap.add_argument(
        "--threads", default="2,1", help="torch thread counts for time to 97%% (default 2,1)"
    )
    ap.add_argument("--parts", default="97,throughput,capture", help="which parts to run")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    repeat = 1 if args.quick else 3
    torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# cnnviz training, torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load:.1f} at start"
    )
    print("| measure | data | net | figure | target | ok |")
    print("|---|---|---|---|---|---|")
    sets = {}
    for name in ("digits", "digits28"):
        t0 = time.perf_counter()
        sets[name] = data.builtin(name)
        made = time.perf_counter() - t0
        n = len(sets[name].y_train)
        print(f"| make the data set ({n:,} training images) | {name} | - | {made:.2f} s | - | - |")

    thread_counts = [int(v) for v in args.threads.split(",")]
    for threads in thread_counts if "97" in parts else []:
        for name, label, spec, lr in RUNS_97:
            secs, epochs, best = time_to_97(sets[name], spec, lr, args.max_epochs, threads)
            if secs is None:
                fig, ok = f"not reached in {epochs} epochs (best {best:.1%})", "no"
            else:
                fig, ok = (
                    f"{secs:.1f} s ({epochs} epochs, Adam lr {lr:g})",
                    ("yes" if secs <= 15 else "no"),
                )
            print(
                f"| time to >= 97% test accuracy, {threads} thread{'s' * (threads > 1)} | {name} "
                f"| {label} | {fig} | <= 15 s | {ok} |"
            )

    for name, spec in THROUGHPUT if "throughput" in parts else []:
        ds = sets[name]
        epochs = 2 if len(ds.y_train) < 8000 else 1
        label = "fast (2 conv + BN)" if spec == FAST else "LeNet-5 preset"
        bare, trained = [], []
        for _ in range(repeat):  # interleaved, so a burst of load hits both
            bare.append(bare_loop(ds, spec, epochs))
            trained.append(trainer_run(ds, spec, epochs))
        b_wall, b_cpu = (statistics.median(v) for v in zip(*bare))
        t_wall, t_cpu, t_all, rate = (statistics.median(v) for v in zip(*trained))
        row = f"| {{}} | {name} | {label} | {{}} | {{}} | {{}} |"
        print(row.format("bare torch loop, 1 thread, by CPU time", f"{b_cpu:,.0f} img/s", "-", "-"))
        over = 1 - t_cpu / b_cpu
        print(
            row.format(
                f"Trainer, metrics + {rate:.1f} snapshots/s, 1 thread, by CPU time",
                f"{t_cpu:,.0f} img/s (overhead {over:.1%})",
                "<= 15%",
                "yes" if over <= 0.15 else "no",
            )
        )
        print(row.format("bare torch loop, by the clock", f"{b_wall:,.0f} img/s", "-", "-"))
        print(
            row.format(
                "Trainer, by the clock (training / incl. validation)",
                f"{t_wall:,.0f} / {t_all:,.0f} img/s ({1 - t_wall / b_wall:.1%} / "
                f"{1 - t_all / b_wall:.1%} below bare)",
                "-",
                "-",
            )
        )
        ms = snapshot_ms(ds, spec, 10 if args.quick else 30)
        print(
            row.format(
                "one live snapshot (activations, filters, histograms, probs)",
                f"{ms:.1f} ms",
                "-",
                "-",
            )
        )

    shapes = {"digits": (1, 16, 16), "digits28": (1, 28, 28), "shapes": (3, 32, 32)}
    for preset, spec in arch.PRESETS.items() if "capture" in parts else []:
        for name, shape in shapes.items():
            try:
                ms = capture_ms(spec, shape, 10, 20 if args.quick else 100)
            except arch.ArchError:
                continue
            print(
                f"| activation capture, all layers, one image | {name} {'x'.join(map(str, shape))} "
                f"| {preset} | {ms:.2f} ms | <= 20 ms | {'yes' if ms <= 20 else 'no'} |"
            )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average {load:.1f} at the end (2 cores: above 2 means other work competed)")


if __name__ == "__main__":
    main()
