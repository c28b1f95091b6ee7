"""Chart data and Vega-Lite specs for the Train page: loss and accuracy curves and the confusion
matrix (the softmax bars are `cnnviz.figures.bars`). Pure: no streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cnnviz.numbers import percent_text

TARGET_ACC = 0.97  # the accuracy curve marks where validation first reaches it
COLORS = {"train (per batch)": "#1f77b4", "validation": "#d62728"}


def _bucket(xs: np.ndarray, ys: np.ndarray, max_points: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points so a long run draws at most `max_points` (also smooths)."""
    n = len(xs)
    if n <= max_points:
        return xs, ys
    edges = np.linspace(0, n, max_points + 1).astype(int)
    return (
        np.array([xs[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
        np.array([ys[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
    )


def curve_frames(
    batches: list[dict], history: list[dict], per_epoch: int
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Long-format tables (epoch, value, series) for the loss and accuracy charts: training per
    batch (x = epochs done, fractional) and validation at the end of each epoch."""
    frames = {}
    for metric, train_key, val_key in (
        ("loss", "loss", "val_loss"),
        ("accuracy", "acc", "val_acc"),
    ):
        parts = []
        if batches and per_epoch:
            x = np.array([b["epoch"] - 1 + b["batch"] / per_epoch for b in batches], float)
            y = np.array([b[train_key] for b in batches], float)
            x, y = _bucket(x, y)
            parts.append(pd.DataFrame({"epoch": x, metric: y, "curve": "train (per batch)"}))
        val = [(h["epoch"], h[val_key]) for h in history if h.get(val_key) is not None]
        if val:
            ex, ey = zip(*val)
            parts.append(pd.DataFrame({"epoch": ex, metric: ey, "curve": "validation"}))
        frames[metric] = pd.concat(parts, ignore_index=True) if parts else None
    return frames["loss"], frames["accuracy"]


def passed_at(history: list[dict], target: float = TARGET_ACC) -> int | None:
    """The first epoch whose validation accuracy reached `target`, or None."""
    return next((h["epoch"] for h in history if (h.get("val_acc") or 0.0) >= target), None)


def curve_spec(metric: str, epochs: int, height: int = 220, passed: int | None = None) -> dict:
    """A Vega-Lite line chart of one metric: training per batch as a line, validation per epoch
    as a line with points; x spans the whole training. A raw spec: building it through Altair
    (st.line_chart) took 0.3-1.1 s per redraw on the class server, this a few ms."""
    enc = {
        "x": {
            "field": "epoch",
            "type": "quantitative",
            "title": "epoch",
            "scale": {"domain": [0, max(1, epochs)]},
        },
        "y": {
            "field": metric,
            "type": "quantitative",
            "title": metric,
            **({"scale": {"domain": [0, 1]}} if metric == "accuracy" else {}),
        },
        "color": {
            "field": "curve",
            "type": "nominal",
            "title": None,
            "scale": {"domain": list(COLORS), "range": list(COLORS.values())},
            "legend": {"orient": "bottom"},
        },
    }
    layers = [
        {
            "mark": {"type": "line", "strokeWidth": 1.5},
            "encoding": enc,
            "transform": [{"filter": "datum.curve != 'validation'"}],
        },
        {
            "mark": {"type": "line", "point": True, "strokeWidth": 2},
            "encoding": enc,
            "transform": [{"filter": "datum.curve == 'validation'"}],
        },
    ]
    if metric == "accuracy" and passed is not None:  # where validation reached TARGET_ACC
        x = {"datum": passed, "type": "quantitative"}
        label = f"validation ≥ {percent_text(TARGET_ACC)}"
        layers.append(
            {
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#2ca02c"},
                "encoding": {"x": x},
            }
        )
        # beside the line, on the side with room: past the middle, the label goes left of it
        # (to its right it would run past the chart's edge when validation passes late)
        late = passed > max(1, epochs) / 2
        layers.append(
            {
                "mark": {
                    "type": "text",
                    "align": "right" if late else "left",
                    "dx": -3 if late else 3,
                    "color": "#2ca02c",
                },
                "encoding": {
                    "x": x,
                    "y": {"datum": 0.08, "type": "quantitative"},
                    "text": {"value": label},
                },
            }
        )
    return {"height": height, "layer": layers}


def confusion_spec(confusion: np.ndarray, classes) -> dict:
    """Counts per (true, predicted) pair as a small heatmap, the numbers written in (up to 20
    classes), white on the dark cells."""
    k = len(classes)
    labels = [str(c) for c in classes]
    c = np.asarray(confusion)
    rows = [
        {"true": labels[t], "predicted": labels[p], "count": int(c[t, p])}
        for t in range(k)
        for p in range(k)
    ]
    order = {"type": "nominal", "sort": labels}
    cells = {
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "predicted", **order, "axis": {"orient": "top", "labelAngle": 0}},
            "y": {"field": "true", **order},
            "color": {
                "field": "count",
                "type": "quantitative",
                "scale": {"scheme": "blues"},
                "legend": None,
            },
            "tooltip": [{"field": "true"}, {"field": "predicted"}, {"field": "count"}],
        },
    }
    # as wide as its column (a fixed width wider than the column was cut), 34 px a row
    spec = {"height": min(640, 120 + 34 * k), "data": {"values": rows}}
    if k > 20:
        return spec | cells
    half = float(c.max()) / 2 if c.size else 0.0
    text = {
        "mark": {"type": "text"},
        "encoding": {
            "x": {"field": "predicted", **order},
            "y": {"field": "true", **order},
            "text": {"field": "count"},
            "color": {
                "condition": {"test": f"datum.count > {half}", "value": "white"},
                "value": "black",
            },
        },
    }
    return spec | {"layer": [cells, text]}
