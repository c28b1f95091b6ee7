"""What the Train page costs the server per live redraw, and per page run.

    python benchmarks/bench_train_page.py           # pictures, curves, page runs
    python benchmarks/bench_train_page.py --quick   # digits only, fewer repeats

1. Pictures made from one snapshot (cnnviz.render.net): every layer's activations, the weight
   grids (Filters tab) and the histograms, per built-in dataset and preset: median ms and KB.
   They are made again at most once a second while training (PICTURE_EVERY).
2. The two curves of a long run (2,000 batches, 20 epochs): the data frames, and the chart
   element built with st.line_chart (Altair) vs st.vega_lite_chart with a raw spec, in
   Streamlit's bare mode (nothing is sent). This is the part every tick pays.
3. The whole page (AppTest script run, Train step): before training and with results drawn.

Median milliseconds, torch with one intra-op thread (as the app's server).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import platform
import sys
import tempfile

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from timing import median_ms  # noqa: E402

from cnnviz import arch, probe  # noqa: E402
from cnnviz.data import builtin  # noqa: E402
from cnnviz.render import net  # noqa: E402
from cnnviz.ui.train import charts  # noqa: E402


def pictures(datasets: list[str], repeat: int) -> None:
    print("\n1. pictures per snapshot (ms, KB)")
    print(f"{'data':<14}{'preset':<9}{'activations':>16}{'weight grids':>16}{'histograms':>14}")
    for name in datasets:
        ds = builtin(name)
        for preset in arch.PRESETS:
            try:
                spec, _ = arch.preset_for(preset, ds.input_shape, ds.n_classes)
                model = arch.build(spec, ds.input_shape, ds.n_classes)
            except ValueError:
                print(f"{name:<14}{preset:<9}{'does not fit':>16}")
                continue
            acts = probe.capture(model, ds.x_test[0])
            weights = probe.layer_weights(model)
            stats = probe.weight_grad_stats(model)
            first = probe.first_filters(model)

            def act_pngs(acts=acts):
                return [net.maps_png(a.values)[0] for a in acts]

            def weight_pngs(first=first, weights=weights):
                out = [net.filters_png(first, rgb=True)[0]] if first is not None else []
                for _, _, w in weights[1:]:
                    out.append(
                        net.filters_png(w, 16, 16, 15)[0] if w.ndim == 4 else net.matrix_png(w)[0]
                    )
                return out

            def hist_pngs(stats=stats):
                return [net.histogram_png(s.weights.counts) for s in stats]

            cells = []
            for fn in (act_pngs, weight_pngs, hist_pngs):
                ms = median_ms(fn, repeat)
                kb = sum(len(b) for b in fn()) / 1024
                cells.append(f"{ms:7.1f} {kb:6.0f}")
            print(f"{name:<14}{preset:<9}{cells[0]:>16}{cells[1]:>16}{cells[2]:>14}")


def curves(repeat: int) -> None:
    import streamlit as st

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    rng = np.random.default_rng(0)
    per_epoch, epochs = 100, 20
    batches = [
        {"epoch": e, "batch": b, "loss": float(rng.random()), "acc": float(rng.random())}
        for e in range(1, epochs + 1)
        for b in range(1, per_epoch + 1)
    ]
    history = [{"epoch": e, "val_loss": 0.5, "val_acc": 0.9} for e in range(1, epochs + 1)]
    loss, acc = charts.curve_frames(batches, history, per_epoch)
    frames = median_ms(lambda: charts.curve_frames(batches, history, per_epoch), repeat)
    altair = median_ms(
        lambda: (
            st.line_chart(loss, x="epoch", y="loss", color="curve", height=220),
            st.line_chart(acc, x="epoch", y="accuracy", color="curve", height=220),
        ),
        repeat,
    )
    raw = median_ms(
        lambda: (
            st.vega_lite_chart(loss, charts.curve_spec("loss", epochs)),
            st.vega_lite_chart(acc, charts.curve_spec("accuracy", epochs)),
        ),
        repeat,
    )
    print(f"\n2. curves of {len(batches):,} batches ({len(loss)} points per chart after bucketing)")
    print(f"   data frames {frames:.1f} ms; both charts: st.line_chart (Altair) {altair:.1f} ms,")
    print(f"   st.vega_lite_chart with a raw spec {raw:.1f} ms")


def page_runs(repeat: int) -> None:
    from streamlit.testing.v1 import AppTest

    os.environ["CNNVIZ_RUNS"] = tempfile.mkdtemp(prefix="cnnviz-bench-runs-")
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"))
    at.query_params["step"] = "Train"
    at.query_params["epochs"] = "1"

    def run():
        at.run(timeout=120)

    idle = median_ms(run, repeat)
    at.button(key="tr_start").click().run(timeout=120)
    t = at.session_state["training"].trainer
    t.join(300)
    at.run(timeout=120)  # results and the saved run
    done = median_ms(run, repeat)
    print("\n3. whole page run (AppTest, Train step)")
    print(f"   before training {idle:.0f} ms; after training, results drawn {done:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    repeat = args.repeat or (3 if args.quick else 7)
    print(
        f"cnnviz Train page costs · {platform.processor() or platform.machine()} · "
        f"torch {torch.__version__} · 1 thread · median of {repeat}"
    )
    pictures(["digits"] if args.quick else ["digits", "digits28", "shapes"], repeat)
    curves(repeat)
    page_runs(repeat)


if __name__ == "__main__":
    main()
