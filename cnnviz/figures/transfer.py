"""Transfer learning vs training from scratch: both validation-accuracy curves on one Vega-Lite
chart."""

from __future__ import annotations

import numpy as np

COLORS = {"transfer": "#2171b5", "scratch": "#e6550d"}
NAMES = {"transfer": "frozen conv layers + new head", "scratch": "the same net from scratch"}


def transfer_spec(result) -> dict:
    """Validation accuracy (%) per epoch of a `cnnviz.transfer.TransferResult`, both ways."""
    rows = [
        {"epoch": epoch, "accuracy": float(acc), "way": NAMES[way]}
        for way in ("transfer", "scratch")
        for epoch, acc in enumerate(
            np.asarray(getattr(result, way).val_acc, dtype=np.float64) * 100, start=1
        )
    ]
    x_axis = {"tickMinStep": 1, "format": "d"}
    return {
        "title": {"text": "Validation accuracy on the new classes", "anchor": "start"},
        "height": 380,  # the whole chart's, title and legend included
        "data": {"values": rows},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "axis": x_axis},
            "y": {
                "field": "accuracy",
                "type": "quantitative",
                "title": "accuracy (%)",
                "scale": {"domain": [0, 100]},
            },
            "color": {
                "field": "way",
                "type": "nominal",
                "title": None,
                "scale": {"domain": list(NAMES.values()), "range": list(COLORS.values())},
                "legend": {"orient": "bottom", "labelLimit": 400},
            },
            "tooltip": [
                {"field": "way", "title": "trained"},
                {"field": "epoch"},
                {"field": "accuracy", "title": "accuracy (%)", "format": ".1f"},
            ],
        },
    }
