"""What a live snapshot costs: activations of every layer for one image (target <= 20 ms), the
first filters and weight/gradient histograms, and the layer table, for each preset.

    python benchmarks/bench_probe.py            # every preset on 1x28x28, 3x32x32, 3x64x64
    python benchmarks/bench_probe.py --quick    # 1x28x28 only

Median milliseconds over --repeat runs, torch with one intra-op thread (as the app's server).
`capture` runs eval mode + no_grad on a model that is in training mode, as the trainer calls it.
"""

from __future__ import annotations

import argparse
import pathlib
import platform
import sys

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from timing import median_ms  # noqa: E402

from cnnviz import arch, probe  # noqa: E402

TARGET_MS = 20.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1x28x28 only")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    shapes = [(1, 28, 28)] if args.quick else [(1, 28, 28), (3, 32, 32), (3, 64, 64)]
    print(
        f"# cnnviz probe, torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"1 thread, median of {args.repeat} (ms)"
    )
    header = (
        "net",
        "input",
        "layers",
        "params",
        "forward",
        "capture",
        "filters",
        "histograms",
        "hist+grads",
        "summarize spec",
        "summarize module",
        f"capture <= {TARGET_MS:g}",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    worst = 0.0
    for shape in shapes:
        for name in arch.PRESETS:
            spec, _ = arch.preset_for(name, shape, 10)
            torch.manual_seed(0)
            model = arch.build(spec, shape, 10).train()
            x = torch.rand(1, *shape)
            with torch.no_grad():
                fwd = median_ms(lambda m=model, x=x: m.eval()(x), args.repeat)
            model.train()
            cap = median_ms(lambda m=model, x=x: probe.capture(m, x), args.repeat)
            filt = median_ms(lambda m=model: probe.first_filters(m), args.repeat)
            hist = median_ms(lambda m=model: probe.weight_grad_stats(m), args.repeat)
            batch = torch.rand(32, *shape)
            loss = nn.functional.cross_entropy(model(batch), torch.randint(0, 10, (32,)))
            loss.backward()
            hist_g = median_ms(lambda m=model: probe.weight_grad_stats(m), args.repeat)
            summ = median_ms(lambda s=spec, sh=shape: arch.summarize(s, sh, 10), args.repeat)
            summ_m = median_ms(lambda m=model, sh=shape: arch.summarize(m, sh), args.repeat)
            params = sum(p.numel() for p in model.parameters())
            worst = max(worst, cap)
            row = (
                name,
                "×".join(map(str, shape)),
                str(len(model)),
                f"{params:,}",
                f"{fwd:.2f}",
                f"{cap:.2f}",
                f"{filt:.3f}",
                f"{hist:.2f}",
                f"{hist_g:.2f}",
                f"{summ:.2f}",
                f"{summ_m:.2f}",
                "yes" if cap <= TARGET_MS else "NO",
            )
            print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nslowest capture: {worst:.2f} ms (target <= {TARGET_MS:g} ms)")


if __name__ == "__main__":
    main()
