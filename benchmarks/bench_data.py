"""Built-in datasets: how long each takes to make, and how fast the presets learn it.

A plain torch loop (Adam, one-cycle learning rate, batch 64, one intra-op thread as the
server uses), evaluated on the test split after every epoch. Prints one table; run by hand:

    .venv/bin/python benchmarks/bench_data.py [--epochs 8] [--sets digits,digits28] [--presets minimal,lenet5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz import arch  # noqa: E402
from cnnviz.data import BUILTINS, augment_batch, builtin  # noqa: E402


def accuracy(net, x, y) -> float:
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(x[i : i + 512]).argmax(1) for i in range(0, len(x), 512)])
    return float((pred == y).float().mean())


def learn(ds, preset: str, epochs: int, lr: float, augment: bool, target: float, seed: int = 0):
    """(seconds to reach `target` test accuracy or None, best accuracy, seconds per epoch)."""
    try:
        net = arch.build(arch.PRESETS[preset], ds.input_shape, ds.n_classes)
    except ValueError as err:
        return None, None, None, str(err).split(";")[0][:40]
    torch.manual_seed(seed)
    for m in net.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    xt, yt = torch.from_numpy(ds.x_test), torch.from_numpy(ds.y_test)
    steps = epochs * -(-len(x) // 64)
    opt = torch.optim.Adam(net.parameters(), lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    reached, best, train_time = None, 0.0, 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            idx = order[i : i + 64]
            xb = augment_batch(x[idx], ds.augment, gen) if augment else x[idx]
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        train_time += time.perf_counter() - t0
        acc = accuracy(net, xt, yt)
        best = max(best, acc)
        if reached is None and acc >= target:
            reached = train_time
    return reached, best, train_time / epochs, ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(BUILTINS))
    p.add_argument("--presets", default=",".join(arch.PRESETS))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--augment", action="store_true")
    p.add_argument("--target", type=float, default=0.97)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(
        f"torch {torch.__version__}, {a.threads} thread(s), {a.epochs} epochs, Adam one-cycle "
        f"max lr {a.lr}, batch 64, augmentation {'on' if a.augment else 'off'}\n"
    )
    print(
        "| set | make (s) | train/val/test | preset | s/epoch | best test acc | s to "
        f"{a.target:.0%} |\n|---|--:|---|---|--:|--:|--:|"
    )
    for name in a.sets.split(","):
        t0 = time.perf_counter()
        ds = builtin(name)
        made = time.perf_counter() - t0
        sizes = "/".join(str(len(getattr(ds, f"y_{s}"))) for s in ("train", "val", "test"))
        for preset in a.presets.split(","):
            reached, best, per_epoch, why = learn(ds, preset, a.epochs, a.lr, a.augment, a.target)
            if best is None:
                print(f"| {name} | {made:.2f} | {sizes} | {preset} | – | does not fit: {why} | – |")
                continue
            hit = f"{reached:.1f}" if reached is not None else "not reached"
            print(
                f"| {name} | {made:.2f} | {sizes} | {preset} | {per_epoch:.2f} | {best:.3f} | {hit} |"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
