"""One bar per class (scores, probabilities) as a Vega-Lite chart: Home, Activations, Explore and
the Train page's inside view. Vega-Lite, not Plotly: Streamlit's Vega chunk is a sixth of
Plotly's 4.7 MB and starts in about a third of the time (Chromium, per page load)."""

from __future__ import annotations

import numpy as np

from cnnviz.numbers import fmt, percent_text

HIGHLIGHT, OTHERS = "#d62728", "#1f77b4"


def bars_data(values, labels, highlight: int | None = None, percent: bool = False) -> list[dict]:
    """The rows the chart draws: a class, its value, the value as the app writes it (the
    tooltip: Vega's ".1%" would write 99.96 % as 100.0 %), the class and value together (the
    axis label of `bars_spec(labels=True)`), and whether it is the highlighted one (by default
    the largest)."""
    v = np.asarray(values, dtype=np.float64)
    top = int(np.argmax(v)) if highlight is None and v.size else highlight
    rows = []
    for i, (label, x) in enumerate(zip(labels, v)):
        text = percent_text(x) if percent else fmt(x)
        row = {"class": str(label), "value": float(x), "text": text, "top": i == top}
        rows.append(row | {"named": f"{label}: {text}"})
    return rows


def bars_spec(n: int, percent: bool = False, title: str = "", labels: bool = True) -> dict:
    """Horizontal bars, one per class in the given order, the highlighted one red; probabilities
    (`percent`) on a fixed 0..100 % axis. `labels` writes each value beside its class on the
    axis (never past the chart's edge, whatever the sign or the size of the value)."""
    x = {"field": "value", "type": "quantitative", "title": None}
    if percent:
        x |= {"scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    y = {
        "field": "named" if labels else "class",
        "type": "nominal",
        "sort": None,
        "title": None,
        "axis": {"labelOverlap": False, "labelLimit": 160 if labels else 90},
    }
    spec: dict = {
        "height": max(60, 20 * n),
        "mark": {"type": "bar"},
        "encoding": {
            "y": y,
            "x": x,
            "color": {"condition": {"test": "datum.top", "value": HIGHLIGHT}, "value": OTHERS},
            "tooltip": [{"field": "class"}, {"field": "text", "title": title or "value"}],
        },
    }
    if title:
        spec["title"] = {"text": title, "anchor": "start", "fontSize": 13}
    return spec
