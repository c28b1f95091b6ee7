"""The Activations page's chart (cnnviz.figures.curves) draws the engine's own numbers: each
line is f(x) at every x, and the marked point is f(x0)."""

import numpy as np

import cnnviz
from cnnviz.figures.curves import curves_spec


def test_lines_and_points_are_the_engines_values():
    x = np.linspace(-5, 5, 11)
    curves = {"ReLU": cnnviz.ACTIVATIONS["relu"](x), "tanh": cnnviz.ACTIVATIONS["tanh"](x)}
    at = {"ReLU": 0.0, "tanh": float(np.tanh(-2.0))}
    spec = curves_spec(x, curves, -2.0, at)
    lines = spec["layer"][2]["data"]["values"]
    points = spec["layer"][3]["data"]["values"]
    assert len(lines) == 22
    relu = [row["y"] for row in lines if row["f"] == "ReLU"]
    assert relu == [max(0.0, v) for v in x.tolist()]  # no upper limit, negatives to 0
    assert points == [
        {"x": -2.0, "y": 0.0, "f": "ReLU"},
        {"x": -2.0, "y": float(np.tanh(-2.0)), "f": "tanh"},
    ]
    assert spec["layer"][2]["encoding"]["color"]["sort"] == ["ReLU", "tanh"]
