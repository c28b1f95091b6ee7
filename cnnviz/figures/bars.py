"""A small plotly bar chart: class scores and probabilities (Home, Activations)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def bars_figure(values: np.ndarray, labels: list[str], title: str, highlight: int | None = None):
    """A small bar chart (class scores, probabilities)."""
    colors = ["#2171b5" if i == highlight else "#9ecae1" for i in range(len(values))]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            marker_color=colors,
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=title,
        height=260,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(type="category"),
        yaxis=dict(showgrid=False),
        plot_bgcolor="white",
    )
    return fig
