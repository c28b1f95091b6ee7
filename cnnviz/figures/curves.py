"""Activation functions as a Vega-Lite line chart (the Activations page): one line per function,
the point the student typed marked on each. No streamlit here."""

from __future__ import annotations

import numpy as np


def curves_spec(x: np.ndarray, curves: dict[str, np.ndarray], x0: float, at_x0: dict) -> dict:
    """Lines y = f(x) for each named function in `curves`, and the point (x0, f(x0)) on each
    (`at_x0`: name -> f(x0)), with the axes through 0 drawn."""
    lines = [
        {"x": float(a), "y": float(b), "f": name}
        for name, ys in curves.items()
        for a, b in zip(x, ys)
    ]
    points = [{"x": float(x0), "y": float(y), "f": name} for name, y in at_x0.items()]
    color = {"field": "f", "type": "nominal", "title": None, "sort": list(curves)}
    xy = {
        "x": {"field": "x", "type": "quantitative", "title": "x"},
        "y": {"field": "y", "type": "quantitative", "title": "f(x)"},
    }
    zero = {"mark": {"type": "rule", "color": "#bbbbbb"}}
    return {
        "height": 360,
        # room for the rotated "f(x)" title: without it, it stuck 2-4 px out of the chart's box
        "padding": {"left": 8, "right": 4, "top": 4, "bottom": 4},
        "layer": [
            zero | {"encoding": {"y": {"datum": 0}}},
            zero | {"encoding": {"x": {"datum": 0}}},
            {
                "data": {"values": lines},
                "mark": {"type": "line", "strokeWidth": 2.5},
                "encoding": xy | {"color": color},
            },
            {
                "data": {"values": points},
                "mark": {"type": "point", "filled": True, "size": 90},
                "encoding": xy
                | {
                    "color": color,
                    "tooltip": [
                        {"field": "f", "title": "function"},
                        {"field": "x", "format": ".4~f"},
                        {"field": "y", "title": "f(x)", "format": ".4f"},
                    ],
                },
            },
        ],
        "config": {"axis": {"grid": False}, "legend": {"orient": "top"}},
    }
