"""cnnviz's numpy conv2d / max_pool2d against torch, side by side in one run.

    python benchmarks/bench_ops.py            # full table (a few minutes)
    python benchmarks/bench_ops.py --quick    # 512 px only

Prints median milliseconds over --repeat runs and the ratio cnnviz / torch (below 1: cnnviz is
faster). torch runs with one intra-op thread, as the app's server does (see README); the
`torch 2T` column shows torch with two threads for reference.
"""

from __future__ import annotations

import argparse
import pathlib
import platform
import sys
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from timing import median_ms  # noqa: E402

import cnnviz  # noqa: E402


def torch_ms(fn, repeat: int, threads: int) -> float:
    torch.set_num_threads(threads)
    try:
        return median_ms(fn, repeat)
    finally:
        torch.set_num_threads(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="512 px only")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    sizes = (512,) if args.quick else (256, 512, 1024)
    rng = np.random.default_rng(0)
    print(
        f"# cnnviz ops vs torch {torch.__version__}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}, median of {args.repeat}"
    )
    header = ("op", "px", "ch", "k", "stride", "cnnviz ms", "torch ms", "ratio", "torch 2T ms")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for px in sizes:
        for ch in (1, 3):
            x = rng.random((ch, px, px), dtype=np.float32)
            xt = torch.from_numpy(x)[None]
            for k in (3, 5, 11):
                w = rng.standard_normal((1, ch, k, k)).astype(np.float32)
                for s in (1, 2):
                    ours = partial(cnnviz.conv2d, x, w, stride=s, padding=k // 2)
                    theirs = partial(F.conv2d, xt, torch.from_numpy(w), stride=s, padding=k // 2)
                    compare("conv2d", (px, ch, k, s), ours, theirs, args.repeat, rtol=1e-3)
            for k, s in ((2, 2), (3, 2), (3, 1)):
                ours = partial(cnnviz.max_pool2d, x, k, s)
                theirs = partial(F.max_pool2d, xt, k, s)
                compare("max_pool2d", (px, ch, k, s), ours, theirs, args.repeat, rtol=0)


def compare(op: str, config: tuple, ours, theirs, repeat: int, rtol: float) -> None:
    """Check both agree, then time both and print one table row."""
    np.testing.assert_allclose(ours(), theirs()[0].numpy(), rtol=rtol, atol=rtol)
    a = median_ms(ours, repeat)
    b = torch_ms(theirs, repeat, 1)
    b2 = torch_ms(theirs, repeat, 2)
    row = (op, *config, f"{a:.2f}", f"{b:.2f}", f"{a / b:.2f}", f"{b2:.2f}")
    print("| " + " | ".join(map(str, row)) + " |", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
